import { Body, Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loginPage } from './login-page.js';
import { z } from 'zod';
import { AgencyGuard, CurrentAgency } from '../agencies/auth.js';
import type { Agency } from '../agencies/agency.repository.js';
import { createOfferSchema, Oid4vciService, requestLike } from './oid4vci.service.js';
import { Idempotent } from '../idempotency.js';

/** Discovery and the wallet-facing protocol endpoints (OpenID4VCI 1.0, pre-authorized code flow). */
@ApiTags('OpenID4VCI')
@Controller()
export class Oid4vciController {
  constructor(private readonly oid4vci: Oid4vciService) {}

  private request(request: FastifyRequest) {
    return requestLike(this.oid4vci.baseUrl, request.method, request.url, request.headers);
  }

  @Get('.well-known/openid-credential-issuer')
  @ApiOperation({ summary: 'Credential issuer metadata: configurations from the licence catalogue, display in zh-CN and en' })
  issuerMetadata() {
    return this.oid4vci.credentialIssuerMetadata();
  }

  @Get('.well-known/oauth-authorization-server')
  authorizationServerMetadata() {
    return this.oid4vci.authorizationServerMetadata();
  }

  @Get('.well-known/jwks.json')
  @Header('content-type', 'application/jwk-set+json')
  jwks() {
    return this.oid4vci.jwks();
  }

  @Get('oid4vci/offers/:id')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'A credential offer by reference (credential_offer_uri)' })
  offer(@Param('id') id: string) {
    return this.oid4vci.offerByReference(id);
  }

  @Post('oid4vci/token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Token endpoint (pre-authorized code with tx_code; DPoP-bound tokens supported)' })
  token(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.oid4vci.token(body, this.request(request));
  }

  @Post('oid4vci/nonce')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  nonce() {
    return this.oid4vci.nonce();
  }

  @Post('oid4vci/credential')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Credential endpoint: jwt key proofs, one credential per proof (batch); 202 when deferred' })
  async credential(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { status, body: response } = await this.oid4vci.credential(body, this.request(request));
    void reply.status(status);
    return response;
  }

  @Post('oid4vci/deferred')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Deferred credential endpoint: 202 while an officer has not approved, then the credentials' })
  async deferred(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { status, body: response } = await this.oid4vci.deferredCredential(body, this.request(request));
    void reply.status(status);
    return response;
  }

  @Post('oid4vci/par')
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Pushed authorization request (RFC 9126), PKCE S256 required' })
  par(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.oid4vci.pushedAuthorizationRequest(body, this.request(request));
  }

  @Get('oid4vci/authorize')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Authorization endpoint: the citizen signs in (pushed requests only)' })
  async authorize(@Query('client_id') clientId: unknown, @Query('request_uri') requestUri: unknown) {
    const { agencyName, typeName } = await this.oid4vci.authorizationSession(clientId, requestUri);
    return loginPage({ agencyName, typeName, clientId: String(clientId), requestUri: String(requestUri) });
  }

  @Post('oid4vci/authorize')
  @Header('cache-control', 'no-store')
  async login(@Body() body: Record<string, unknown> | undefined, @Res() reply: FastifyReply) {
    const result = await this.oid4vci.login(body?.['client_id'], body?.['request_uri'], body ?? {});
    if ('redirect' in result) return reply.status(302).header('location', result.redirect).send();
    const { agencyName, typeName } = await this.oid4vci.authorizationSession(body?.['client_id'], body?.['request_uri']);
    return reply
      .status(400)
      .header('content-type', 'text/html; charset=utf-8')
      .send(
        loginPage({
          agencyName,
          typeName,
          clientId: String(body?.['client_id']),
          requestUri: String(body?.['request_uri']),
          message: result.retry,
        }),
      );
  }

  @Post('oid4vci/notification')
  @HttpCode(204)
  notification(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.oid4vci.notification(body, this.request(request));
  }
}

/** Agency officers create offers for a citizen's application. */
@ApiTags('OpenID4VCI')
@ApiBearerAuth()
@UseGuards(AgencyGuard)
@Controller('agency/offers')
export class OfferController {
  constructor(private readonly oid4vci: Oid4vciService) {}

  @Post()
  @HttpCode(201)
  @Idempotent()
  @ApiOperation({ summary: 'Offer a credential to a citizen: openid-credential-offer:// link, QR (PNG and SVG), PIN' })
  @ApiBody({ schema: z.toJSONSchema(createOfferSchema, { io: 'input' }) as object })
  create(@CurrentAgency() agency: Agency, @Body() body: unknown) {
    return this.oid4vci.createOffer(agency, body);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve an application whose credential request is deferred' })
  approve(@CurrentAgency() agency: Agency, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.oid4vci.approve(agency, id);
  }
}
