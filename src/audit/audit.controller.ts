import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses, notFound, OperatorGuard } from '../common/index.js';
import { AuditTrailService } from './audit-trail.service.js';
import { anchorRunSchema, auditEntryViewSchema } from './audit.schemas.js';

@ApiTags('operator')
@ApiBearerAuth()
@UseGuards(OperatorGuard)
@ApiProblemResponses(401)
@Controller()
export class AuditController {
  constructor(private readonly trail: AuditTrailService) {}

  @Get('audit/entries/:seq')
  @ApiOperation({ summary: 'One audit entry with its Merkle inclusion proof and the on-chain anchor of its range' })
  @ApiOkResponse({
    description: 'The entry, its leaf, proof and anchor (null until anchored)',
    standardSchema: auditEntryViewSchema,
  })
  @ApiProblemResponses(400, 404)
  entry(@Param('seq', new ParseIntPipe()) seq: number) {
    // Sequence numbers start at 1 and stay below 2^53: anything else names no entry (and is not rounded into one).
    if (!Number.isSafeInteger(seq) || seq < 1) throw notFound('No such audit entry');
    return this.trail.entry(seq);
  }

  @Post('operator/audit/anchors')
  @HttpCode(200)
  @ApiOperation({ summary: 'Anchor the entries not yet anchored now (one range; the outbox sends it)' })
  @ApiOkResponse({ description: 'The range queued, or null', standardSchema: anchorRunSchema })
  @ApiProblemResponses(503)
  anchor() {
    return this.trail.anchorNow();
  }
}
