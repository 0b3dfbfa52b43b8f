import { Body, Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiJsonResponse, ApiMediaResponse, ApiOAuthErrorResponse, ApiProblemResponse, OAuthErrors } from '../../common/index.js';
import type { RelyingPartyEntity } from '../relying-parties/relying-party.entity.js';
import { CurrentRelyingParty, RelyingPartyGuard } from '../relying-parties/relying-party.guard.js';
import { deskPage } from './desk-page.js';
import { PresentationRequestService } from './presentation-request.service.js';
import { PresentationResponseService } from './presentation-response.service.js';
import { createdRequestSchema, createRequestSchema, responseAcceptedSchema, verdictViewSchema } from './presentation.schemas.js';
import { VerdictDeliveryService } from './verdict-delivery.service.js';

/** The same-device flows' response_code, with which alone a verdict is released (OID4VP 1.0 §13.3). */
const ResponseCodeQuery = ApiQuery({
  name: 'response_code',
  required: false,
  description: 'same-device flows: the response_code the wallet redirect brought back; the verdict is released only with it',
  schema: { type: 'string' },
});

/**
 * OID4VP for relying parties: their back-office (rpk_ API key) and desk page, and the wallet-facing
 * request_uri and response endpoints (OAuth error JSON: see ProblemFilter).
 */
@ApiTags('OpenID4VP (relying parties)')
@Controller()
export class PresentationController {
  constructor(
    private readonly requests: PresentationRequestService,
    private readonly responses: PresentationResponseService,
    private readonly verdicts: VerdictDeliveryService,
  ) {}

  @Post('rp/requests')
  @HttpCode(201)
  @UseGuards(RelyingPartyGuard)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Create a presentation request from a DCQL query (refused beyond the registration): openid4vp:// link, QR, desk page',
  })
  @ApiBody({ schema: z.toJSONSchema(createRequestSchema, { io: 'input' }) as object })
  @ApiJsonResponse(201, 'the request: link, QR code, desk page', createdRequestSchema)
  @ApiProblemResponse(400, 'invalid body or DCQL query, or claims beyond the registration (each listed)')
  @ApiProblemResponse(401, 'no live relying-party API key')
  @ApiProblemResponse(
    403,
    'data_sharing_not_permitted: the consortium has not granted this party the requested claims of an agency (DATA_SHARING_ENFORCED)',
  )
  @ApiProblemResponse(503, 'chain_unavailable: the data-sharing permissions could not be read; retry after Retry-After')
  create(@CurrentRelyingParty() party: RelyingPartyEntity, @Body() body: unknown) {
    return this.requests.create(party, body);
  }

  @Get('rp/requests/:id')
  @UseGuards(RelyingPartyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Status and verdict (only the disclosed, requested claims)' })
  @ApiJsonResponse(200, 'status, and the verdict once released', verdictViewSchema)
  @ResponseCodeQuery
  @ApiProblemResponse(400, 'the id is not a UUID')
  @ApiProblemResponse(401, 'no live relying-party API key')
  @ApiProblemResponse(
    404,
    "not one of the party's requests; deleted PRESENTATION_REQUEST_RETENTION_DAYS after its verdict was purged, or VERDICT_RETENTION_SECONDS after it expired unanswered",
  )
  result(
    @CurrentRelyingParty() party: RelyingPartyEntity,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('response_code') responseCode: unknown,
  ) {
    return this.verdicts.result(party, id, responseCode);
  }

  @Get('rp/requests/:id/verdict')
  @Header('cache-control', 'no-store')
  @ApiJsonResponse(200, 'status, and the verdict once released (the desk page polls this)', verdictViewSchema)
  @ApiQuery({ name: 'view', required: true, description: 'the view token of the desk link', schema: { type: 'string' } })
  @ResponseCodeQuery
  @ApiProblemResponse(400, 'the id is not a UUID')
  @ApiProblemResponse(404, 'no such request, or a wrong view token')
  verdict(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query('view') view: unknown,
    @Query('response_code') responseCode: unknown,
  ) {
    return this.verdicts.resultForView(id, view, responseCode);
  }

  @Get('rp/desk/:id')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Verifier desk page: QR code, then the verdict' })
  @ApiMediaResponse(200, 'the desk page', 'text/html', { type: 'string' })
  @ApiQuery({ name: 'view', required: true, description: 'the view token of the desk link', schema: { type: 'string' } })
  @ApiProblemResponse(400, 'the id is not a UUID')
  @ApiProblemResponse(404, 'no such request, a wrong view token, or a purged verdict')
  async desk(@Param('id', new ParseUUIDPipe()) id: string, @Query('view') view: unknown) {
    return deskPage(await this.verdicts.deskView(id, view));
  }

  @Get('oid4vp/requests/:id')
  @OAuthErrors({ statuses: [] })
  @Header('content-type', 'application/oauth-authz-req+jwt')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Signed request object (JAR) for request_uri' })
  @ApiMediaResponse(200, 'the signed request object', 'application/oauth-authz-req+jwt', { type: 'string' })
  @ApiOAuthErrorResponse(404, 'invalid_request_uri: no such request, or it expired or was answered')
  requestObject(@Param('id') id: string) {
    return this.requests.requestObject(id);
  }

  @Post('oid4vp/response')
  @OAuthErrors({ statuses: [] })
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Wallet response endpoint (direct_post, direct_post.jwt)' })
  @ApiJsonResponse(200, 'accepted; same-device flows get the redirect_uri', responseAcceptedSchema)
  @ApiOAuthErrorResponse(400, 'invalid_request: unknown request or state, answered, expired, malformed or unencrypted')
  response(@Body() body: unknown) {
    return this.responses.handle(body);
  }
}
