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
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { badRequest, OperatorGuard } from '../../common/index.js';
import { registerOidcClientSchema } from './client-registration.js';
import { CitizenLoginService } from './citizen-login.service.js';
import { OidcClientsService } from './oidc-clients.service.js';

@ApiTags('operator')
@ApiBearerAuth()
@UseGuards(OperatorGuard)
@Controller('operator/oidc-clients')
export class OidcClientsController {
  constructor(private readonly clients: OidcClientsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register a portal for wallet login: redirect URIs (exact), scopes, auth method; returns its client secret once',
  })
  @ApiBody({ schema: z.toJSONSchema(registerOidcClientSchema, { io: 'input' }) as object })
  register(@Body() body: unknown) {
    return this.clients.register(body);
  }

  @Get()
  @ApiOperation({ summary: 'Registered portals (no secrets)' })
  list() {
    return this.clients.list();
  }

  @Get(':clientId')
  @ApiOperation({ summary: 'One registered portal' })
  get(@Param('clientId', new ParseUUIDPipe()) clientId: string) {
    return this.clients.get(clientId);
  }

  @Delete(':clientId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a portal: its codes and tokens stop working at once' })
  async delete(@Param('clientId', new ParseUUIDPipe()) clientId: string) {
    await this.clients.delete(clientId);
  }
}

/** oidc-provider's interaction uids are nanoids (21 characters of A-Za-z0-9_-). */
const UID = /^[A-Za-z0-9_-]{10,64}$/;
const checkedUid = (uid: string) => {
  if (!UID.test(uid)) throw badRequest('Not a sign-in id');
  return uid;
};

/**
 * The OpenID Provider's login pages (the provider's own endpoints are served by oidc-provider under the same
 * prefix). The browser is identified by the provider's signed interaction cookie, never by the URL alone.
 */
@ApiTags('OpenID Provider (wallet login pages)')
@Controller('oidc/interaction/:uid')
export class CitizenLoginController {
  constructor(private readonly login: CitizenLoginService) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Login page: the wallet request as QR code and same-device link; continues to the portal' })
  async page(@Param('uid') uid: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    this.send(reply, await this.login.page(this.raw(request, reply), checkedUid(uid)));
  }

  @Get('status')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary:
      'Polled by the login page: pending, rejected (failed checks), expired, or where to continue (verified, or ended: timed out)',
  })
  status(@Param('uid') uid: string, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.login.status(this.raw(request, reply), checkedUid(uid));
  }

  @Get('same-device')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Same-device flow: makes the request and redirects to its openid4vp:// link (the wallet app)' })
  @ApiResponse({ status: 303, description: 'to the openid4vp:// link (Location)' })
  async sameDevice(@Param('uid') uid: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    this.send(reply, { redirect: await this.login.sameDeviceLink(this.raw(request, reply), checkedUid(uid)) });
  }

  @Get('wallet-return')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "Same-device flow: the wallet's redirect back, with the response_code that releases the verdict" })
  @ApiResponse({ status: 303, description: 'to the portal with the outcome (Location)' })
  @ApiResponse({ status: 200, description: 'the login page again, saying why (text/html)' })
  async walletReturn(
    @Param('uid') uid: string,
    @Query('response_code') responseCode: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    this.send(reply, await this.login.walletReturn(this.raw(request, reply), checkedUid(uid), responseCode));
  }

  @Post('cancel')
  @ApiOperation({ summary: 'The citizen cancels: the portal receives access_denied' })
  @ApiResponse({ status: 303, description: "to the portal's redirect_uri with error=access_denied (Location)" })
  async cancel(@Param('uid') uid: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    this.send(reply, { redirect: await this.login.cancel(this.raw(request, reply), checkedUid(uid)) });
  }

  private raw(request: FastifyRequest, reply: FastifyReply) {
    return { req: request.raw, res: reply.raw };
  }

  private send(reply: FastifyReply, result: { html?: string; redirect?: string }) {
    if (result.redirect) {
      void reply.header('cache-control', 'no-store').redirect(result.redirect, 303);
      return;
    }
    void reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(result.html);
  }
}
