import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProblemFilter } from './problem.filter.js';

/** What a reply was given: status, headers and body. */
function recordingReply() {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name] = value;
      return reply;
    },
    headers(values: Record<string, string>) {
      Object.assign(sent.headers, values);
      return reply;
    },
    type(value: string) {
      sent.headers['content-type'] = value;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  return { reply: reply as unknown as FastifyReply, sent };
}

describe('ProblemFilter', () => {
  it('answers a transaction that lost to a concurrent one (PostgreSQL deadlock victim) 503 with a short Retry-After, not 500', () => {
    const { reply, sent } = recordingReply();
    const deadlock = Object.assign(new Error('deadlock detected on relation 16384'), {
      name: 'QueryFailedError',
      driverError: { code: '40P01' },
    });
    const request = { url: '/credentials/issue', id: 'r1', method: 'POST', server: {} } as unknown as FastifyRequest;
    new ProblemFilter().render(deadlock, request, reply);
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('1');
    expect(sent.body).toEqual(
      expect.objectContaining({ code: 'database_unavailable', detail: 'A concurrent request held the same records; retry' }),
    );
    expect(JSON.stringify(sent.body)).not.toMatch(/deadlock|16384/);
  });

  it("answers the OpenID Provider's temporarily_unavailable (a database outage met inside it) 503 with Retry-After, not 500", () => {
    const { reply, sent } = recordingReply();
    // As oidc-provider's OIDCProviderError(503, 'temporarily_unavailable') looks when a login route awaits the provider.
    const unavailable = Object.assign(new Error('temporarily_unavailable'), {
      name: 'OIDCProviderError',
      error: 'temporarily_unavailable',
      status: 503,
      statusCode: 503,
      expose: true,
    });
    const request = { url: '/oidc/interaction/abc/status', id: 'r2', method: 'GET', server: {} } as unknown as FastifyRequest;
    new ProblemFilter().render(unavailable, request, reply);
    expect(sent.status).toBe(503);
    expect(Number(sent.headers['retry-after'])).toBeGreaterThan(0);
    expect(sent.body).toEqual(expect.objectContaining({ code: 'database_unavailable' }));
  });
});
