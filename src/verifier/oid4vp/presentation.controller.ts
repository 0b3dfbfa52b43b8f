import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  UseGuards,
  createParamDecorator,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerToken, OperatorGuard } from '../../common/index.js';
import { deskPage } from './desk-page.js';
import { createRequestSchema, PresentationService, registerRelyingPartySchema } from './presentation.service.js';
import type { RelyingPartyEntity } from './relying-party.entity.js';

/** Relying-party back-offices authenticate with their rpk_ API key. */
@Injectable()
export class RelyingPartyGuard implements CanActivate {
  constructor(private readonly presentations: PresentationService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { relyingParty?: RelyingPartyEntity }>();
    request.relyingParty = await this.presentations.authenticate(bearerToken(request.headers));
    return true;
  }
}

const CurrentRelyingParty = createParamDecorator(
  (_: unknown, context: ExecutionContext): RelyingPartyEntity =>
    context.switchToHttp().getRequest<FastifyRequest & { relyingParty: RelyingPartyEntity }>().relyingParty,
);

@ApiTags('operator')
@ApiBearerAuth()
@UseGuards(OperatorGuard)
@Controller('operator/relying-parties')
export class RelyingPartyAdminController {
  constructor(private readonly presentations: PresentationService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a relying party: name, purpose, the claims it may ask for; returns its API key once' })
  @ApiBody({ schema: z.toJSONSchema(registerRelyingPartySchema, { io: 'input' }) as object })
  register(@Body() body: unknown) {
    return this.presentations.register(body);
  }

  @Post(':id/api-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Another API key for the relying party (rotation); returned once' })
  createApiKey(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.presentations.createApiKey(id);
  }

  @Get(':id/api-keys')
  @ApiOperation({ summary: "The relying party's API keys (prefixes, created, revoked)" })
  apiKeys(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.presentations.apiKeys(id);
  }

  @Delete(':id/api-keys/:prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one API key of the relying party; refused at once' })
  async revokeApiKey(@Param('id', new ParseUUIDPipe()) id: string, @Param('prefix') prefix: string) {
    await this.presentations.revokeApiKey(id, prefix);
  }
}

@ApiTags('OpenID4VP (relying parties)')
@Controller()
export class PresentationController {
  constructor(private readonly presentations: PresentationService) {}

  @Post('rp/requests')
  @HttpCode(201)
  @UseGuards(RelyingPartyGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Create a presentation request from a DCQL query (refused beyond the registration): openid4vp:// link, QR, desk page',
  })
  @ApiBody({ schema: z.toJSONSchema(createRequestSchema, { io: 'input' }) as object })
  create(@CurrentRelyingParty() party: RelyingPartyEntity, @Body() body: unknown) {
    return this.presentations.createRequest(party, body);
  }

  @Get('rp/requests/:id')
  @UseGuards(RelyingPartyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Status and verdict (only the disclosed, requested claims)' })
  result(
    @CurrentRelyingParty() party: RelyingPartyEntity,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('response_code') responseCode: unknown,
  ) {
    return this.presentations.result(party, id, responseCode);
  }

  @Get('rp/requests/:id/verdict')
  @Header('cache-control', 'no-store')
  verdict(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('view') view: unknown,
    @Query('response_code') responseCode: unknown,
  ) {
    return this.presentations.resultForView(id, view, responseCode);
  }

  @Get('rp/desk/:id')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Verifier desk page: QR code, then the verdict' })
  async desk(@Param('id', new ParseUUIDPipe()) id: string, @Query('view') view: unknown) {
    return deskPage(await this.presentations.deskView(id, view));
  }

  @Get('oid4vp/requests/:id')
  @Header('content-type', 'application/oauth-authz-req+jwt')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Signed request object (JAR) for request_uri' })
  requestObject(@Param('id') id: string) {
    return this.presentations.requestObject(id);
  }

  @Post('oid4vp/response')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Wallet response endpoint (direct_post, direct_post.jwt)' })
  response(@Body() body: unknown, @Req() _request: FastifyRequest) {
    return this.presentations.handleResponse(body);
  }
}
