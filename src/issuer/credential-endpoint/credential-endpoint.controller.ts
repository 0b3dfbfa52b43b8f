import { Body, Controller, Get, Header, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthErrors } from '../../common/index.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import {
  CREDENTIAL_ISSUER_METADATA_SCHEMA,
  CREDENTIAL_RESPONSE_SCHEMA,
  DEFERRED_CREDENTIAL_SCHEMA,
  DEFERRED_PENDING_SCHEMA,
  NONCE_RESPONSE_SCHEMA,
} from './credential-endpoint.schemas.js';
import { CredentialService } from './credential.service.js';
import { DeferredCredentialService } from './deferred.service.js';
import { NotificationService } from './notification.service.js';

/** The credential issuer's wallet-facing endpoints (OpenID4VCI 1.0): metadata, nonce, credential, deferred, notification. */
@ApiTags('OpenID4VCI')
@Controller()
@OAuthErrors({ statuses: [] })
export class CredentialEndpointController {
  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly credentials: CredentialService,
    private readonly deferredCredentials: DeferredCredentialService,
    private readonly notifications: NotificationService,
  ) {}

  @Get('.well-known/openid-credential-issuer')
  @ApiOperation({ summary: 'Credential issuer metadata: configurations from the licence catalogue, display in zh-CN and en' })
  @ApiOkResponse({ schema: CREDENTIAL_ISSUER_METADATA_SCHEMA })
  issuerMetadata() {
    return this.protocol.credentialIssuerMetadata();
  }

  @Post('oid4vci/nonce')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Nonce endpoint: a c_nonce for key proofs, usable once' })
  @ApiOkResponse({ schema: NONCE_RESPONSE_SCHEMA })
  @OAuthErrors({ statuses: [429] })
  nonce() {
    return this.credentials.nonce();
  }

  @Post('oid4vci/credential')
  @Header('cache-control', 'no-store')
  @OAuthErrors({ badRequest: 'invalid_credential_request', statuses: [400, 401, 403] })
  @ApiOperation({ summary: 'Credential endpoint: jwt key proofs, one credential per proof (batch); 202 when deferred' })
  @ApiOkResponse({ schema: CREDENTIAL_RESPONSE_SCHEMA })
  @ApiAcceptedResponse({ description: 'Deferred until an officer approves', schema: DEFERRED_PENDING_SCHEMA })
  async credential(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { status, body: response } = await this.credentials.credential(body, this.protocol.request(request));
    void reply.status(status);
    return response;
  }

  @Post('oid4vci/deferred')
  @Header('cache-control', 'no-store')
  @OAuthErrors({ badRequest: 'invalid_credential_request', statuses: [400, 401] })
  @ApiOperation({
    summary:
      'Deferred credential endpoint: 202 while an officer has not approved, then the credentials (again to the same holder until it notifies)',
  })
  @ApiOkResponse({ schema: DEFERRED_CREDENTIAL_SCHEMA })
  @ApiAcceptedResponse({ description: 'Still waiting: poll again after interval seconds', schema: DEFERRED_PENDING_SCHEMA })
  async deferred(@Body() body: unknown, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const { status, body: response } = await this.deferredCredentials.deferredCredential(body, this.protocol.request(request));
    void reply.status(status);
    return response;
  }

  @Post('oid4vci/notification')
  @HttpCode(204)
  @OAuthErrors({ badRequest: 'invalid_notification_request', statuses: [400, 401] })
  @ApiOperation({ summary: 'Notification endpoint: the wallet reports a credential accepted, failed or deleted' })
  @ApiNoContentResponse({ description: 'Recorded (a repeated report is accepted too)' })
  notification(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.notifications.notification(body, this.protocol.request(request));
  }
}
