import { Module } from '@nestjs/common';
import { ConsortiumController } from './consortium.controller.js';

/** The consortium operator API (ADR 15); the logic is ConsortiumService in src/chain. */
@Module({ controllers: [ConsortiumController] })
export class ConsortiumModule {}
