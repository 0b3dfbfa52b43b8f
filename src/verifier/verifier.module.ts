import { Module } from '@nestjs/common';
import { VerifierController } from './verifier.controller.js';
import { VerifierService } from './verifier.service.js';

@Module({ controllers: [VerifierController], providers: [VerifierService], exports: [VerifierService] })
export class VerifierModule {}
