import { Body, Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiProblemResponses, OAuthErrors } from '../../common/index.js';
import { AgencyGuard, CurrentActor, CurrentAgency } from '../agencies/auth.js';
import type { Agency } from '../agencies/agency.repository.js';
import { IdempotencyService } from '../idempotency.js';
import { createOfferSchema, OfferService } from './offer.service.js';
import { APPROVED_SCHEMA, CREATED_OFFER_SCHEMA, CREDENTIAL_OFFER_SCHEMA } from './offer.schemas.js';

/** Agency officers create offers for a citizen's application, and approve deferred ones. */
@ApiTags('OpenID4VCI')
@ApiBearerAuth()
@UseGuards(AgencyGuard)
@Controller('agency/offers')
export class OfferController {
  constructor(
    private readonly offers: OfferService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Offer a credential to a citizen: openid-credential-offer:// link, QR (PNG and SVG), PIN' })
  @ApiBody({ schema: z.toJSONSchema(createOfferSchema, { io: 'input' }) as object })
  @ApiCreatedResponse({ description: 'The offer, with the PIN or login code to hand over', schema: CREATED_OFFER_SCHEMA })
  @ApiProblemResponses(400, 401, 409, 422)
  create(
    @CurrentAgency() agency: Agency,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.idempotency.idempotent(request, reply, 201, (idempotency) => this.offers.createOffer(agency, body, idempotency));
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve an application whose credential request is deferred' })
  @ApiOkResponse({ schema: APPROVED_SCHEMA })
  @ApiProblemResponses(400, 401, 404)
  approve(@CurrentAgency() agency: Agency, @CurrentActor() actor: string, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.offers.approve(agency, id, actor);
  }
}

/** The wallet fetches an offer made by reference (OID4VCI 1.0 §4.1.3). */
@ApiTags('OpenID4VCI')
@Controller('oid4vci/offers')
@OAuthErrors({ statuses: [404, 429] })
export class CredentialOfferController {
  constructor(private readonly offers: OfferService) {}

  @Get(':id')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'A credential offer by reference (credential_offer_uri)' })
  @ApiOkResponse({ description: 'The credential offer object', schema: CREDENTIAL_OFFER_SCHEMA })
  offer(@Param('id') id: string) {
    return this.offers.offerByReference(id);
  }
}
