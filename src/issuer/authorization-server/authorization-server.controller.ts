import { Body, Controller, Get, Header, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAUTH_ERROR_SCHEMA, OAuthErrors } from '../../common/index.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AuthorizationService } from './authorization.service.js';
import {
  AUTHORIZATION_SERVER_METADATA_SCHEMA,
  JWKS_SCHEMA,
  PUSHED_AUTHORIZATION_RESPONSE_SCHEMA,
  TOKEN_RESPONSE_SCHEMA,
} from './authorization-server.schemas.js';
import { loginPage } from './login-page.js';
import { TokenKeys } from './token-keys.js';
import { TokenService } from './token.service.js';

/**
 * The OAuth 2.0 authorization server of OID4VCI: metadata and keys, the token endpoint (pre-authorized
 * code and authorization code grants), pushed authorization requests and the citizen's sign-in.
 */
@ApiTags('OpenID4VCI')
@Controller()
@OAuthErrors({ statuses: [] })
export class AuthorizationServerController {
  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly tokenKeys: TokenKeys,
    private readonly tokens: TokenService,
    private readonly authorization: AuthorizationService,
  ) {}

  @Get('.well-known/oauth-authorization-server')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414)' })
  @ApiOkResponse({ schema: AUTHORIZATION_SERVER_METADATA_SCHEMA })
  authorizationServerMetadata() {
    return this.protocol.authorizationServerMetadata();
  }

  @Get('.well-known/jwks.json')
  @Header('content-type', 'application/jwk-set+json')
  @ApiOperation({ summary: 'Access-token verification keys (every active key)' })
  @ApiOkResponse({ content: { 'application/jwk-set+json': { schema: JWKS_SCHEMA } } })
  jwks() {
    return this.tokenKeys.jwks();
  }

  @Post('oid4vci/token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary:
      'Token endpoint: pre-authorized code (with tx_code), authorization code with PKCE, or refresh_token (deferred offers, rotated on use); DPoP-bound tokens',
  })
  @ApiOkResponse({ schema: TOKEN_RESPONSE_SCHEMA })
  @OAuthErrors({ statuses: [400, 429] })
  token(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.tokens.token(body, this.protocol.request(request));
  }

  @Post('oid4vci/par')
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Pushed authorization request (RFC 9126), PKCE S256 required' })
  @ApiCreatedResponse({ schema: PUSHED_AUTHORIZATION_RESPONSE_SCHEMA })
  @OAuthErrors({ statuses: [400, 429] })
  par(@Body() body: unknown, @Req() request: FastifyRequest) {
    return this.authorization.pushedAuthorizationRequest(body, this.protocol.request(request));
  }

  @Get('oid4vci/authorize')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Authorization endpoint: the citizen signs in (pushed requests only)' })
  @ApiOkResponse({ description: 'The sign-in page', content: { 'text/html': { schema: { type: 'string' } } } })
  @OAuthErrors({ statuses: [400, 429] })
  async authorize(@Query('client_id') clientId: unknown, @Query('request_uri') requestUri: unknown) {
    const { agencyName, typeName, application } = await this.authorization.openLoginPage(clientId, requestUri);
    return loginPage({
      agencyName,
      typeName,
      clientId: String(clientId),
      requestUri: String(requestUri),
      mode: application ? 'password' : 'login-code',
    });
  }

  @Post('oid4vci/authorize')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'The sign-in form: redirect to the wallet with the code (or access_denied), or the page again' })
  @ApiResponse({ status: 302, description: 'To the wallet redirect_uri with code (or error), state and iss' })
  @ApiResponse({
    status: 400,
    description: 'A wrong login code: the page again, with the message; other errors are OAuth JSON',
    content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: OAUTH_ERROR_SCHEMA } },
  })
  async login(@Body() body: Record<string, unknown> | undefined, @Res() reply: FastifyReply) {
    const result = await this.authorization.login(body?.['client_id'], body?.['request_uri'], body ?? {});
    if ('redirect' in result) return reply.status(302).header('location', result.redirect).send();
    const { agencyName, typeName, application } = await this.authorization.authorizationSession(
      body?.['client_id'],
      body?.['request_uri'],
    );
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
          mode: application ? 'password' : 'login-code',
        }),
      );
  }
}
