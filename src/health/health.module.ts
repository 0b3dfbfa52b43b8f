import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { DatabaseProbe } from './database-probe.js';

@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [DatabaseProbe] })
export class HealthModule {}
