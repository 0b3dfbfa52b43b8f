import { Global, Module } from '@nestjs/common';
import { AuditAnchoring } from './audit-anchoring.js';
import { AuditController } from './audit.controller.js';
import { AuditLog } from './audit-log.js';
import { AuditRepository } from './audit.repository.js';
import { AuditSealer } from './audit-sealer.js';
import { AuditTrailService } from './audit-trail.service.js';
import { UsageLog } from './usage-log.js';

/** The tamper-evident audit trail and the holders' usage log (ADR 16); global so call sites add one line. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditSealer, AuditLog, AuditAnchoring, AuditTrailService, UsageLog],
  exports: [AuditLog, UsageLog, AuditAnchoring],
})
export class AuditModule {}
