import { Body, Controller, Get, Header, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AgencyGuard, CurrentAgency } from '../agencies/auth.js';
import type { Agency } from '../agencies/agency.repository.js';
import { createOfferSchema, Oid4vciService, requestLike } from './oid4vci.service.js';

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
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Credential endpoint: jwt key proofs, one credential per proof (batch)' })
  credential(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.oid4vci.credential(body, this.request(request));
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
  @ApiOperation({ summary: 'Offer a credential to a citizen: openid-credential-offer:// link, QR (PNG and SVG), PIN' })
  @ApiBody({ schema: z.toJSONSchema(createOfferSchema, { io: 'input' }) as object })
  create(@CurrentAgency() agency: Agency, @Body() body: unknown) {
    return this.oid4vci.createOffer(agency, body);
  }
}
