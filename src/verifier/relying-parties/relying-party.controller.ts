import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiJsonResponse, ApiProblemResponse, OperatorGuard } from '../../common/index.js';
import {
  apiKeyListSchema,
  issuedApiKeySchema,
  registeredRelyingPartySchema,
  registerRelyingPartySchema,
  relyingPartyListSchema,
} from './relying-party.schemas.js';
import { RelyingPartyService } from './relying-party.service.js';

@ApiTags('operator')
@ApiBearerAuth()
@UseGuards(OperatorGuard)
@ApiProblemResponse(401, 'no valid operator key')
@Controller('operator/relying-parties')
export class RelyingPartyAdminController {
  constructor(private readonly parties: RelyingPartyService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a relying party: name, purpose, the claims it may ask for; returns its API key once' })
  @ApiBody({ schema: z.toJSONSchema(registerRelyingPartySchema, { io: 'input' }) as object })
  @ApiJsonResponse(201, 'the party, its client_id and (once) its API key and webhook secret', registeredRelyingPartySchema)
  @ApiProblemResponse(400, 'invalid body, unknown types or claims, or a webhook URL that is not allowed')
  register(@Body() body: unknown) {
    return this.parties.register(body);
  }

  @Get()
  @ApiOperation({ summary: 'Every registered relying party (the internal ones of the citizen pages included), oldest first' })
  @ApiJsonResponse(200, 'the parties with their client_ids; no key or secret', relyingPartyListSchema)
  list() {
    return this.parties.list();
  }

  @Post(':id/api-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Another API key for the relying party (rotation); returned once' })
  @ApiJsonResponse(201, 'the new key, once', issuedApiKeySchema)
  @ApiProblemResponse(404, 'no such relying party')
  createApiKey(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.parties.createApiKey(id);
  }

  @Get(':id/api-keys')
  @ApiOperation({ summary: "The relying party's API keys (prefixes, created, revoked)" })
  @ApiJsonResponse(200, 'every key of the party, oldest first', apiKeyListSchema)
  @ApiProblemResponse(404, 'no such relying party')
  apiKeys(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.parties.apiKeys(id);
  }

  @Delete(':id/api-keys/:prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one API key of the relying party; refused at once' })
  @ApiResponse({ status: 204, description: 'revoked' })
  @ApiProblemResponse(404, 'no live key by that prefix for the party')
  async revokeApiKey(@Param('id', new ParseUUIDPipe()) id: string, @Param('prefix') prefix: string) {
    await this.parties.revokeApiKey(id, prefix);
  }
}
