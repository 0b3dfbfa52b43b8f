import { Body, Controller, Get, Headers, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiProblemResponses, bearerCredentials, notFound } from '../../common/index.js';
import { AgencyGuard, CurrentAgency, OperatorGuard } from '../agencies/auth.js';
import type { Agency } from '../agencies/agency.repository.js';
import {
  applicationViewSchema,
  createApplicationSchema,
  createdApplicationSchema,
  decisionResultSchema,
  decisionSchema,
  departmentViewSchema,
  inboxEntrySchema,
  peerContentSchema,
} from './approval.schemas.js';
import { ApprovalService } from './approval.service.js';
import { DepartmentApprovals } from './department-approvals.service.js';

const applicationIdParam = ApiParam({ name: 'applicationId', description: 'The application id on chain (bytes32 hex)' });
const referenceParam = ApiParam({ name: 'reference', description: 'The application reference handed to the applicant' });

function applicationId(value: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw notFound(`No application ${value}`);
  return value.toLowerCase();
}

/** The agency's back office files applications under a joint-approval policy (issue 16). */
@ApiTags('joint approval')
@ApiBearerAuth()
@ApiProblemResponses(401)
@UseGuards(AgencyGuard)
@Controller('agency/approvals')
export class AgencyApprovalController {
  constructor(private readonly approvals: ApprovalService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'File an application: content sealed here, salted digest on chain, a deferred credential offer' })
  @ApiBody({ schema: z.toJSONSchema(createApplicationSchema, { io: 'input' }) as object })
  @ApiCreatedResponse({
    description: 'The application, its read token (once) and the offer',
    standardSchema: createdApplicationSchema,
  })
  @ApiProblemResponses(400, 409, 503)
  create(@CurrentAgency() agency: Agency, @Body() body: unknown) {
    return this.approvals.apply(agency, body);
  }

  @Get(':reference')
  @referenceParam
  @ApiOperation({ summary: 'One application of this agency: state, reason codes, timeline' })
  @ApiOkResponse({ description: 'The application', standardSchema: applicationViewSchema })
  @ApiProblemResponses(404)
  show(@CurrentAgency() agency: Agency, @Param('reference') reference: string) {
    return this.approvals.forAgency(agency, reference);
  }
}

/** The applicant polls the state of an application with its reference and read token (bearer). */
@ApiTags('joint approval')
@ApiBearerAuth()
@Controller('approvals')
export class ApplicantApprovalController {
  constructor(private readonly approvals: ApprovalService) {}

  @Get(':reference')
  @referenceParam
  @ApiOperation({ summary: 'The applicant’s view: state, reason codes and timeline (Authorization: Bearer <read token>)' })
  @ApiOkResponse({ description: 'The application', standardSchema: applicationViewSchema })
  @ApiProblemResponses(404)
  show(@Param('reference') reference: string, @Headers('authorization') authorization: string | undefined) {
    return this.approvals.forApplicant(reference, bearerCredentials(authorization));
  }
}

/** A department's officers: the inbox, one application, the decision (signed by the controller). */
@ApiTags('operator')
@ApiBearerAuth()
@ApiProblemResponses(401)
@UseGuards(OperatorGuard)
@Controller('operator/approvals')
export class DepartmentApprovalController {
  constructor(private readonly department: DepartmentApprovals) {}

  @Get('inbox')
  @ApiOperation({ summary: 'approvals:inbox — pending applications whose policy requires us and that we have not decided' })
  @ApiOkResponse({ description: 'Newest first, at most 100', standardSchema: z.array(inboxEntrySchema) })
  @ApiProblemResponses(503)
  inbox() {
    return this.department.inbox();
  }

  @Get(':applicationId')
  @applicationIdParam
  @ApiOperation({ summary: 'approvals:show — policy, decisions, timeline, and the content from the issuing department' })
  @ApiOkResponse({ description: 'The application as the chain holds it', standardSchema: departmentViewSchema })
  @ApiProblemResponses(404, 503)
  show(@Param('applicationId') id: string) {
    return this.department.show(applicationId(id));
  }

  @Post(':applicationId/expire')
  @HttpCode(200)
  @applicationIdParam
  @ApiOperation({
    summary:
      'approvals:expire — close an application whose deadline passed (Rejected, deadline-missed); 409 with the contract’s error name',
  })
  @ApiOkResponse({ description: 'The expire transaction', standardSchema: decisionResultSchema })
  @ApiProblemResponses(404, 409, 503)
  expire(@Param('applicationId') id: string) {
    return this.department.expire(applicationId(id));
  }

  @Post(':applicationId/decision')
  @HttpCode(200)
  @applicationIdParam
  @ApiOperation({ summary: 'approvals:decide — approve or reject (with a reason code); 409 with the contract’s error name' })
  @ApiBody({ schema: z.toJSONSchema(decisionSchema, { io: 'input' }) as object })
  @ApiOkResponse({ description: 'The decision transaction', standardSchema: decisionResultSchema })
  @ApiProblemResponses(400, 404, 409, 503)
  decide(@Param('applicationId') id: string, @Body() body: unknown) {
    return this.department.decide(applicationId(id), body);
  }
}

/** The issuing department serves an application's content to required departments (peer token, ES256K). */
@ApiTags('joint approval')
@ApiBearerAuth()
@Controller('consortium/approvals')
export class PeerApprovalController {
  constructor(private readonly department: DepartmentApprovals) {}

  @Get(':applicationId/content')
  @applicationIdParam
  @ApiOperation({ summary: 'The sealed content of one of our applications, for a required department of its policy' })
  @ApiOkResponse({ description: 'Salt and content (the salted digest is the id on chain)', standardSchema: peerContentSchema })
  @ApiProblemResponses(401, 403, 404)
  content(@Param('applicationId') id: string, @Headers('authorization') authorization: string | undefined) {
    return this.department.contentForPeer(applicationId(id), authorization);
  }
}
