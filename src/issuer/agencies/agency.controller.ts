import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '../../common/index.js';
import { CONTRACT_NAMES, ChainBootstrap, ChainClient, OutboxService } from '../../chain/index.js';
import { AgencyGuard, CurrentAgency, OperatorGuard } from './auth.js';
import { AgencyService, createAgencySchema } from './agency.service.js';
import type { Agency } from './agency.repository.js';

const apiKeySchema = z.object({ label: z.string().trim().min(1).max(100).default('api key') });

@ApiTags('operator')
@ApiBearerAuth()
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
  chainInfo() {
    return {
      chainId: this.chain.chainId,
      networkName: this.chain.networkName,
      registry: this.bootstrap.registryAddress,
      contracts: Object.fromEntries(CONTRACT_NAMES.map((name) => [name, this.bootstrap.address(name)])),
    };
  }

  @Post('agencies')
  @ApiOperation({ summary: 'Create an agency: keys, did:ethr anchored on chain, first API key (shown once)' })
  @ApiBody({ schema: z.toJSONSchema(createAgencySchema) as object })
  create(@Body() body: unknown) {
    return this.agencies.create(body);
  }

  @Get('agencies')
  list() {
    return this.agencies.list();
  }

  @Get('agencies/:id')
  get(@Param('id') id: string) {
    return this.agencies.view(id);
  }

  @Post('agencies/:id/api-keys')
  @HttpCode(201)
  @ApiBody({ schema: z.toJSONSchema(apiKeySchema) as object })
  async createApiKey(@Param('id') id: string, @Body() body: unknown) {
    const { label } = parseOrThrow(apiKeySchema, body ?? {});
    return { apiKey: await this.agencies.createApiKey(id, label) };
  }

  @Delete('agencies/:id/api-keys/:prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an agency API key by its prefix (chy_<prefix>_…); it is refused at once' })
  async revokeApiKey(@Param('id') id: string, @Param('prefix') prefix: string): Promise<void> {
    await this.agencies.revokeApiKey(id, prefix);
  }

  @Get('outbox')
  @ApiOperation({ summary: 'Chain writes by status' })
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
  me(@CurrentAgency() agency: Agency) {
    return this.agencies.view(agency.id);
  }
}
