import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { z } from 'zod';
import { ApiProblemResponses, parseOrThrow } from '../../common/index.js';
import { CONTRACT_NAMES, ChainBootstrap, ChainClient, OutboxService } from '../../chain/index.js';
import { AgencyGuard, CurrentAgency, OperatorGuard } from './auth.js';
import { AgencyService, createAgencySchema } from './agency.service.js';
import type { Agency } from './agency.repository.js';
import {
  agencyViewSchema,
  chainInfoSchema,
  createdAgencySchema,
  issuedApiKeySchema,
  agencyApiKeyListSchema,
  outboxCountsSchema,
  type ChainInfo,
} from './agency.schemas.js';

const apiKeySchema = z.object({ label: z.string().trim().min(1).max(100).default('api key') });
const agencyParam = ApiParam({ name: 'id', description: 'The agency id or its slug' });

@ApiTags('operator')
@ApiBearerAuth()
@ApiProblemResponses(401)
@UseGuards(OperatorGuard)
@Controller('operator')
export class OperatorController {
  constructor(
    private readonly agencies: AgencyService,
    private readonly outbox: OutboxService,
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
  ) {}

  @Get('chain')
  @ApiOperation({ summary: 'The chain the service writes to and the registry it uses' })
  @ApiOkResponse({ description: 'Chain id, network name and contract addresses', standardSchema: chainInfoSchema })
  chainInfo(): ChainInfo {
    return {
      chainId: this.chain.chainId,
      networkName: this.chain.networkName,
      registry: this.bootstrap.registryAddress,
      contracts: Object.fromEntries(CONTRACT_NAMES.map((name) => [name, this.bootstrap.address(name)])),
      consortium: { ...this.bootstrap.consortium },
      auditAnchor: this.bootstrap.address('AuditAnchor'),
    };
  }

  @Post('agencies')
  @ApiOperation({ summary: 'Create an agency: keys, did:ethr anchored on chain, first API key (shown once)' })
  @ApiBody({ schema: z.toJSONSchema(createAgencySchema) as object })
  @ApiCreatedResponse({ description: 'The agency (anchoring) and its first API key', standardSchema: createdAgencySchema })
  @ApiProblemResponses(400, 409, 503)
  create(@Body() body: unknown) {
    return this.agencies.create(body);
  }

  @Get('agencies')
  @ApiOperation({ summary: 'Every agency, oldest first' })
  @ApiOkResponse({ description: 'The agencies', standardSchema: z.array(agencyViewSchema) })
  list() {
    return this.agencies.list();
  }

  @Get('agencies/:id')
  @ApiOperation({ summary: 'One agency, with the chain writes that anchor its DID document' })
  @agencyParam
  @ApiOkResponse({ description: 'The agency', standardSchema: agencyViewSchema })
  @ApiProblemResponses(404)
  get(@Param('id') id: string) {
    return this.agencies.view(id);
  }

  @Post('agencies/:id/api-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue another API key for an agency (shown once)' })
  @agencyParam
  @ApiBody({ schema: z.toJSONSchema(apiKeySchema) as object })
  @ApiCreatedResponse({ description: 'The new API key', standardSchema: issuedApiKeySchema })
  @ApiProblemResponses(400, 404)
  async createApiKey(@Param('id') id: string, @Body() body: unknown) {
    const { label } = parseOrThrow(apiKeySchema, body ?? {});
    return { apiKey: await this.agencies.createApiKey(id, label) };
  }

  @Get('agencies/:id/api-keys')
  @ApiOperation({ summary: "An agency's API keys: prefix, label, created, revoked (never a secret)" })
  @agencyParam
  @ApiOkResponse({ description: 'Every key of the agency, oldest first', standardSchema: agencyApiKeyListSchema })
  @ApiProblemResponses(404)
  apiKeys(@Param('id') id: string) {
    return this.agencies.apiKeys(id);
  }

  @Delete('agencies/:id/api-keys/:prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an agency API key by its prefix (chy_<prefix>_…); it is refused at once' })
  @agencyParam
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiProblemResponses(404)
  async revokeApiKey(@Param('id') id: string, @Param('prefix') prefix: string): Promise<void> {
    await this.agencies.revokeApiKey(id, prefix);
  }

  @Get('outbox')
  @ApiOperation({ summary: 'Chain writes by status' })
  @ApiOkResponse({ description: 'Counts per status', standardSchema: outboxCountsSchema })
  outboxCounts() {
    return this.outbox.counts();
  }
}

@ApiTags('agency')
@ApiBearerAuth()
@UseGuards(AgencyGuard)
@Controller('agency')
export class AgencyController {
  constructor(private readonly agencies: AgencyService) {}

  @Get()
  @ApiOperation({ summary: 'The agency the API key belongs to' })
  @ApiOkResponse({ description: 'The agency', standardSchema: agencyViewSchema })
  @ApiProblemResponses(401)
  me(@CurrentAgency() agency: Agency) {
    return this.agencies.view(agency.id);
  }
}
