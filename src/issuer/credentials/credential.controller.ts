import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { notFound, parseOrThrow } from '../../common/index.js';
import { StatusService } from '../../status/index.js';
import { Catalogue, jwtVc11Document, sdJwtVcTypeMetadata } from '../../credentials/index.js';
import { AgencyGuard, AgencyKeyInPathGuard, CurrentActor, CurrentAgency, OperatorGuard } from '../agencies/auth.js';
import type { Agency } from '../agencies/agency.repository.js';
import { AuthorisationService } from './authorisation.service.js';
import { IssuanceService, issueRequestSchema, type IssuedCredential } from './issuance.service.js';
import { IdempotencyService } from '../idempotency.js';

const MEDIA_TYPE = { 'dc+sd-jwt': 'application/dc+sd-jwt', jwt_vc_json: 'application/vc+jwt' } as const;

/**
 * The VC-API answer, whose `verifiableCredential` is always a JSON object (as VC-API clients and test suites read
 * it): VCDM 2.0 and SD-JWT credentials are enveloped in a data: URL, Data Integrity credentials are the secured
 * JSON document, 1.1 JWTs are their decoded JSON form with the JWT as a JwtProof2020 proof (/credentials/verify
 * takes it back). `credential` is the credential as issued (the compact JWT or SD-JWT).
 */
function vcApiResponse(issued: IssuedCredential) {
  if (issued.format === 'ldp_vc') {
    const document = JSON.parse(issued.credential) as Record<string, unknown>;
    return { verifiableCredential: document, credential: document, ...metadata(issued) };
  }
  const enveloped = issued.format === 'dc+sd-jwt' || issued.dataModel === '2.0';
  return {
    verifiableCredential: enveloped
      ? {
          '@context': ['https://www.w3.org/ns/credentials/v2'],
          id: `data:${MEDIA_TYPE[issued.format]},${issued.credential}`,
          type: 'EnvelopedVerifiableCredential',
        }
      : (jwtVc11Document(issued.credential) ?? issued.credential),
    credential: issued.credential,
    ...metadata(issued),
  };
}

function metadata(issued: IssuedCredential) {
  return {
    credentialId: issued.id,
    format: issued.format,
    ...(issued.dataModel ? { dataModel: issued.dataModel } : {}),
    type: issued.typeId,
    validFrom: issued.validFrom,
    validUntil: issued.validUntil,
  };
}

/** The VC-API issue request, for the OpenAPI document of both issue routes. */
const ISSUE_REQUEST_BODY = z.toJSONSchema(issueRequestSchema, { io: 'input', unrepresentable: 'any' }) as object;

@ApiTags('issue (W3C VC-API)')
@Controller()
export class IssuanceController {
  constructor(
    private readonly issuance: IssuanceService,
    private readonly catalogue: Catalogue,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post('credentials/issue')
  @HttpCode(201)
  @UseGuards(AgencyGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Issue a catalogue credential as SD-JWT VC (dc+sd-jwt), JWT VC (jwt_vc_json, VCDM 2.0 or 1.1) or Data Integrity (ldp_vc, ecdsa-rdfc-2019)',
  })
  @ApiBody({ schema: ISSUE_REQUEST_BODY })
  issue(
    @CurrentAgency() agency: Agency,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.idempotency.idempotent(request, reply, 201, async (idempotency) => {
      // With an Idempotency-Key, the response is stored in the issuance transaction: a retry after a lost
      // answer gets this credential back, never a second one.
      const issued = await this.issuance.issue(
        agency,
        await this.issuance.fromVcApiRequest(agency, body),
        idempotency ? { inTransaction: (tx, credential) => idempotency.complete(tx, vcApiResponse(credential)) } : {},
      );
      return vcApiResponse(issued);
    });
  }

  @Post('conformance/:apiKey/credentials/issue')
  @HttpCode(201)
  @UseGuards(AgencyKeyInPathGuard)
  @ApiOperation({
    summary:
      'POST /credentials/issue with the agency key in the path instead of a header, for test-suite clients that send none (the W3C Bitstring Status List suite); 404 unless ISSUE_KEY_IN_PATH=true',
  })
  @ApiBody({ schema: ISSUE_REQUEST_BODY })
  issueWithKeyInPath(
    @CurrentAgency() agency: Agency,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.issue(agency, body, request, reply);
  }

  @Get('credentials/types')
  @ApiOperation({ summary: 'The licence catalogue: types, display names (zh-CN, en), claim schemas, formats' })
  types() {
    return this.catalogue.list();
  }

  @Get('vct/:id')
  @ApiOperation({ summary: 'SD-JWT VC type metadata for a catalogue type (the vct URL)' })
  typeMetadata(@Param('id') id: string) {
    const type = this.catalogue.get(id);
    if (!type) throw notFound(`No credential type "${id}"`);
    return sdJwtVcTypeMetadata(type);
  }
}

const statusChangeSchema = z.object({
  action: z.enum(['revoke', 'suspend', 'reinstate']),
  reason: z.string().trim().min(1).max(500),
});
const bulkStatusChangeSchema = statusChangeSchema.extend({ credentialIds: z.array(z.uuid()).min(1).max(10_000) });

@ApiTags('status (agency officers)')
@ApiBearerAuth()
@UseGuards(AgencyGuard)
@Controller('credentials')
export class CredentialStatusController {
  constructor(
    private readonly status: StatusService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post('status')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke, suspend or reinstate up to 10,000 credentials in one batch (published and anchored together)',
  })
  @ApiBody({ schema: z.toJSONSchema(bulkStatusChangeSchema) as object })
  changeMany(
    @CurrentAgency() agency: Agency,
    @CurrentActor() actor: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    // With an Idempotency-Key, the answer is stored in the change's transaction: a retry gets it back.
    return this.idempotency.idempotent(request, reply, 200, async (idempotency) => {
      const { credentialIds, action, reason } = parseOrThrow(bulkStatusChangeSchema, body);
      return this.status.change(agency.id, credentialIds, action, reason, actor, idempotency?.complete);
    });
  }

  @Post(':id/status')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke, suspend or reinstate one credential, with a reason for the audit trail' })
  @ApiBody({ schema: z.toJSONSchema(statusChangeSchema) as object })
  async change(
    @CurrentAgency() agency: Agency,
    @CurrentActor() actor: string,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.idempotency.idempotent(request, reply, 200, async (idempotency) => {
      const { action, reason } = parseOrThrow(statusChangeSchema, body);
      let answer: Awaited<ReturnType<StatusService['state']>> | undefined;
      await this.status.change(agency.id, [id], action, reason, actor, async (tx) => {
        answer = await this.status.stateIn(tx, agency.id, id);
        await idempotency?.complete(tx, answer);
      });
      return answer!;
    });
  }

  @Get(':id/status')
  @ApiOperation({ summary: 'Current status of a credential and its audit trail' })
  state(@CurrentAgency() agency: Agency, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.status.state(agency.id, id);
  }
}

@ApiTags('operator')
@ApiBearerAuth()
@UseGuards(OperatorGuard)
@Controller('operator/agencies/:agency/authorisations')
export class AuthorisationController {
  constructor(private readonly authorisations: AuthorisationService) {}

  @Get()
  list(@Param('agency') agency: string) {
    return this.authorisations.list(agency);
  }

  @Put(':typeId')
  @ApiOperation({ summary: 'Authorise an agency for a credential type (anchored in the trusted-issuer registry on chain)' })
  grant(@Param('agency') agency: string, @Param('typeId') typeId: string) {
    return this.authorisations.set(agency, typeId, true);
  }

  @Delete(':typeId')
  @ApiOperation({ summary: 'Withdraw an agency authorisation for a credential type' })
  withdraw(@Param('agency') agency: string, @Param('typeId') typeId: string) {
    return this.authorisations.set(agency, typeId, false);
  }
}
