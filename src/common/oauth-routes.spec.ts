import 'reflect-metadata';
import { Body, Controller, Get, Module, Param, Post } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError, ProblemError } from './errors.js';
import { installHttpPlatform } from './http-platform.js';
import { OAuthErrors, OAuthRouteRegistry } from './oauth-routes.js';
import { ProblemFilter } from './problem.filter.js';

/** A small app: decorated and plain routes, the one filter and the body parsers, on Fastify without a socket. */
@Controller('wallet')
@OAuthErrors()
class WalletController {
  @Post('token')
  token(@Body() _body: unknown) {
    throw new ProblemError(400, 'invalid_request', 'The request is invalid', 'a handler problem');
  }

  @Post('credential')
  @OAuthErrors({ badRequest: 'invalid_credential_request' })
  credential(@Body() _body: unknown) {
    return { ok: true };
  }

  @Get('offers/:id')
  offer(@Param('id') id: string) {
    if (id === 'gone') throw new OAuthError(404, 'invalid_request', 'No such offer');
    return { id };
  }
}

@Controller('officer')
class OfficerController {
  @Post('offers')
  create(@Body() _body: unknown) {
    return { created: true };
  }

  @Get('offers/:id')
  offer(@Param('id') _id: string) {
    throw new ProblemError(404, 'not_found', 'Not found', 'no such offer');
  }
}

@Module({
  imports: [DiscoveryModule],
  controllers: [WalletController, OfficerController],
  providers: [OAuthRouteRegistry, { provide: APP_FILTER, useClass: ProblemFilter }],
})
class SampleModule {}

describe('@OAuthErrors() routes and the one exception filter', () => {
  let app: NestFastifyApplication;
  const send = async (method: 'GET' | 'POST' | 'HEAD', url: string, payload?: string, contentType = 'application/json') => {
    const reply = await app.inject({
      method,
      url,
      payload,
      headers: payload === undefined ? {} : { 'content-type': contentType },
    });
    return {
      status: reply.statusCode,
      type: reply.headers['content-type'],
      body: reply.body ? (JSON.parse(reply.body) as Record<string, unknown>) : {},
    };
  };

  beforeAll(async () => {
    app = await NestFactory.create<NestFastifyApplication>(
      SampleModule,
      new FastifyAdapter({
        bodyLimit: 1024,
        // As fastifyServerOptions does: router errors (undecodable parameters) rendered by the same filter.
        frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) =>
          new ProblemFilter().render(error, request, reply),
      }),
      {
        logger: false,
      },
    );
    await installHttpPlatform(app, {
      bodyLimitBytes: 1024,
      logger: { info: () => undefined } as never,
      operatorApiKey: undefined,
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers errors of decorated routes as RFC 6749 JSON, whatever raised them', async () => {
    expect(await send('POST', '/wallet/token', '{}')).toEqual({
      status: 400,
      type: expect.stringMatching(/^application\/json/),
      body: { error: 'invalid_request', error_description: 'a handler problem' },
    });
    expect(await send('GET', '/wallet/offers/gone')).toMatchObject({ status: 404, body: { error: 'invalid_request' } });
  });

  it('does so for errors raised before the handler: body too large, malformed JSON, non-object JSON, content type', async () => {
    expect(await send('POST', '/wallet/token', JSON.stringify({ x: 'y'.repeat(2000) }))).toMatchObject({
      status: 413,
      body: { error: 'invalid_request' },
    });
    expect(await send('POST', '/wallet/token', '{"a":')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await send('POST', '/wallet/token', '[1]')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await send('POST', '/wallet/token', 'x', 'text/plain')).toMatchObject({
      status: 415,
      body: { error: 'invalid_request' },
    });
  });

  it('uses the code a handler declares for a 400 it did not raise itself', async () => {
    expect(await send('POST', '/wallet/credential', '{"a":')).toMatchObject({
      status: 400,
      body: { error: 'invalid_credential_request' },
    });
    expect(await send('POST', '/wallet/credential', '{}')).toMatchObject({ status: 201, body: { ok: true } });
  });

  it('matches requests the router did not route by their path: another method, an undecodable parameter, discovery', async () => {
    // A path the router knows for another method: 405 (with Allow), still as OAuth error JSON.
    expect(await send('GET', '/wallet/token')).toMatchObject({ status: 405, body: { error: 'invalid_request' } });
    expect(await send('GET', '/wallet/offers/%E0%A4%A')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await send('GET', '/.well-known/unknown-document')).toMatchObject({ status: 404, body: { error: 'invalid_request' } });
  });

  it('answers every other route with problem details, also before the handler', async () => {
    const problem = { type: expect.stringMatching(/^application\/problem\+json/) };
    expect(await send('GET', '/officer/offers/x')).toMatchObject({ ...problem, status: 404, body: { code: 'not_found' } });
    expect(await send('POST', '/officer/offers', '{"a":')).toMatchObject({
      ...problem,
      status: 400,
      body: { code: 'invalid_request' },
    });
    expect(await send('POST', '/officer/offers', JSON.stringify({ x: 'y'.repeat(2000) }))).toMatchObject({
      ...problem,
      status: 413,
      body: { code: 'payload_too_large' },
    });
    expect(await send('GET', '/wallet/unknown')).toMatchObject({ ...problem, status: 404, body: { code: 'not_found' } });
    // A JSON array is fine for a route that is not OAuth (its own validation decides).
    expect(await send('POST', '/officer/offers', '[1]')).toMatchObject({ status: 201 });
  });

  it('answers HEAD like GET', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/wallet/offers/gone' });
    expect(head.statusCode).toBe(404);
    expect(head.headers['content-type']).toMatch(/^application\/json/);
  });

  it('refuses to start when a decorated route is not registered under the template it computed', async () => {
    const prefixed = await NestFactory.create<NestFastifyApplication>(SampleModule, new FastifyAdapter(), { logger: false });
    prefixed.setGlobalPrefix('api');
    await expect(prefixed.init()).rejects.toThrow(/@OAuthErrors route POST \/wallet\/token is not registered/);
    await prefixed.close().catch(() => undefined);
  });
});
