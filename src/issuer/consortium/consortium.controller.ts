import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { getAddress } from 'ethers';
import {
  ADDRESS_PATTERN,
  ApiProblemResponses,
  badRequest,
  isEthereumAddress,
  notFound,
  parseOrThrow,
} from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { ConsortiumService, credentialTypeKey, type ProposalAction } from '../../chain/index.js';
import { Catalogue } from '../../credentials/index.js';
import { ethrDidAddress } from '../../did/index.js';
import { AgencyService } from '../agencies/agency.service.js';
import { OperatorGuard } from '../agencies/auth.js';
import {
  approvalPolicySchema,
  consortiumStatusSchema,
  createProposalSchema,
  governanceWriteSchema,
  initConsortiumSchema,
  joinConsortiumSchema,
  proposalListQuerySchema,
  proposalViewSchema,
  type CreateProposal,
} from './consortium.schemas.js';

const proposalParam = ApiParam({ name: 'id', description: 'The proposal id (decimal)' });

function proposalId(value: string): bigint {
  if (!/^[1-9][0-9]{0,30}$/.test(value)) throw notFound(`No proposal ${value}`);
  return BigInt(value);
}

/**
 * The consortium operator API (ADR 15): this department's view of the consortium, founding or joining
 * one, proposals and votes. Every write is an outbox transaction signed by the department's controller.
 */
@ApiTags('operator')
@ApiBearerAuth()
@ApiProblemResponses(401)
@UseGuards(OperatorGuard)
@Controller('operator/consortium')
export class ConsortiumController {
  constructor(
    private readonly consortium: ConsortiumService,
    private readonly agencies: AgencyService,
    private readonly catalogue: Catalogue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'consortium:status — members, threshold, registries, this department’s controller' })
  @ApiOkResponse({ description: 'The consortium as the chain says', standardSchema: consortiumStatusSchema })
  @ApiProblemResponses(503)
  status() {
    return this.consortium.status();
  }

  @Post('init')
  @HttpCode(200)
  @ApiOperation({ summary: 'consortium:init — deploy a consortium founded by this department and the given members' })
  @ApiBody({ schema: z.toJSONSchema(initConsortiumSchema, { io: 'input' }) as object })
  @ApiOkResponse({ description: 'The new consortium, now followed', standardSchema: consortiumStatusSchema })
  @ApiProblemResponses(400, 409, 503)
  init(@Body() body: unknown) {
    const input = parseOrThrow(initConsortiumSchema, body);
    return this.consortium.init(
      input.founders,
      input.threshold,
      input.departmentName ?? this.config.chain.consortium.departmentName,
    );
  }

  @Post('join')
  @HttpCode(200)
  @ApiOperation({ summary: 'consortium:join — follow an existing consortium; members then vote our controller in' })
  @ApiBody({ schema: z.toJSONSchema(joinConsortiumSchema) as object })
  @ApiOkResponse({ description: 'The consortium, now followed', standardSchema: consortiumStatusSchema })
  @ApiProblemResponses(400, 409, 503)
  join(@Body() body: unknown) {
    return this.consortium.join(parseOrThrow(joinConsortiumSchema, body).governance);
  }

  @Get('proposals')
  @ApiOperation({
    summary:
      'proposal:list — the newest proposals (at most 100), with votes; ?before=<id> for the next page, ?state=open for those open to votes',
  })
  @ApiQuery({ name: 'before', required: false, description: 'only proposals with a lower id (paging)' })
  @ApiQuery({ name: 'state', required: false, enum: ['open'], description: 'only proposals still open to votes' })
  @ApiOkResponse({ description: 'Proposals, newest first', standardSchema: z.array(proposalViewSchema) })
  @ApiProblemResponses(400, 503)
  list(@Query() query: unknown) {
    const { before, state } = parseOrThrow(proposalListQuerySchema, query ?? {});
    return this.consortium.proposals({ before: before === undefined ? undefined : BigInt(before), open: state === 'open' });
  }

  @Get('proposals/:id')
  @proposalParam
  @ApiOperation({ summary: 'One proposal, as the governance contract holds it' })
  @ApiOkResponse({ description: 'The proposal', standardSchema: proposalViewSchema })
  @ApiProblemResponses(404, 503)
  show(@Param('id') id: string) {
    return this.consortium.proposal(proposalId(id));
  }

  @Post('proposals')
  @HttpCode(200)
  @ApiOperation({ summary: 'proposal:create — propose (and vote for) a change; executes when the threshold is met' })
  @ApiBody({ schema: z.toJSONSchema(createProposalSchema, { io: 'input' }) as object })
  @ApiOkResponse({ description: 'The proposing transaction', standardSchema: governanceWriteSchema })
  @ApiProblemResponses(400, 404, 409, 503)
  async create(@Body() body: unknown) {
    const input = parseOrThrow(createProposalSchema, body);
    return this.consortium.propose(await this.action(input), input.lifetimeDays * 86_400);
  }

  @Get('approval-policies')
  @ApiOperation({ summary: 'approval-policy:list — joint-approval policies (issue 16), newest first, retired ones too' })
  @ApiOkResponse({
    description: 'Policies as the JointApproval contract holds them',
    standardSchema: z.array(approvalPolicySchema),
  })
  @ApiProblemResponses(503)
  async approvalPolicies() {
    const typeIds = new Map(this.catalogue.all().map((type) => [credentialTypeKey(type.id), type.id]));
    return (await this.consortium.approvalPolicies()).map((policy) => ({
      policyId: policy.policyId.toString(),
      ...policy.terms,
      typeId: typeIds.get(policy.terms.credentialType) ?? null,
      createdAt: policy.createdAt,
      active: policy.active,
    }));
  }

  @Post('proposals/:id/votes')
  @HttpCode(200)
  @proposalParam
  @ApiOperation({ summary: 'proposal:vote — this department’s vote; the vote that meets the threshold executes' })
  @ApiOkResponse({ description: 'The voting transaction', standardSchema: governanceWriteSchema })
  @ApiProblemResponses(404, 409, 503)
  vote(@Param('id') id: string) {
    return this.consortium.vote(proposalId(id));
  }

  /** The contract action of a request: catalogue ids become registry keys, agencies their addresses. */
  private async action(input: CreateProposal): Promise<ProposalAction> {
    const typeKey = (typeId: string) => {
      if (!this.catalogue.get(typeId)) throw badRequest(`No credential type "${typeId}" in the catalogue`);
      return credentialTypeKey(typeId);
    };
    switch (input.kind) {
      case 'AddMember':
        return { kind: input.kind, member: getAddress(input.member), name: input.name };
      case 'RemoveMember':
        return { kind: input.kind, member: getAddress(input.member) };
      case 'ChangeThreshold':
        return { kind: input.kind, threshold: input.threshold };
      case 'AuthoriseIssuer':
      case 'WithdrawIssuer':
        return {
          kind: input.kind,
          issuer: await this.issuerAddress(input.issuer),
          credentialType: typeKey(input.credentialType),
        };
      case 'PublishType':
        return {
          kind: input.kind,
          typeId: typeKey(input.credentialType),
          schemaDigest: input.schemaDigest,
          version: input.version,
        };
      case 'RetireType':
        return { kind: input.kind, typeId: typeKey(input.credentialType) };
      case 'GrantPermission':
        return {
          kind: input.kind,
          terms: {
            relyingParty: input.relyingParty,
            clientId: input.clientId,
            credentialType: typeKey(input.credentialType),
            claims: input.claims,
            purpose: input.purpose,
            expiresAt: input.expiresAt,
          },
        };
      case 'WithdrawPermission':
        return { kind: input.kind, permissionId: BigInt(input.permissionId) };
      case 'SetApprovalPolicy':
        return {
          kind: input.kind,
          terms: {
            credentialType: typeKey(input.credentialType),
            issuingDepartment: getAddress(input.issuingDepartment),
            issuingAgency: await this.issuerAddress(input.issuingAgency),
            departments: input.departments.map((department) => getAddress(department)),
            required: input.required ?? input.departments.length,
            decisionPeriod: input.decisionPeriodSeconds,
          },
        };
      case 'RetireApprovalPolicy':
        return { kind: input.kind, policyId: BigInt(input.policyId) };
    }
  }

  /** An issuer: a 0x address, a did:ethr, or one of our agencies by id or slug. */
  private async issuerAddress(issuer: string): Promise<string> {
    if (ADDRESS_PATTERN.test(issuer)) {
      if (!isEthereumAddress(issuer)) throw badRequest('The issuer address has a wrong EIP-55 checksum');
      return getAddress(issuer);
    }
    if (issuer.startsWith('did:')) {
      const address = ethrDidAddress(issuer);
      if (!address) throw badRequest('The issuer must be a did:ethr (or an address, or one of our agencies)');
      return address;
    }
    const agency = await this.agencies.get(issuer);
    return ethrDidAddress(agency.did)!;
  }
}
