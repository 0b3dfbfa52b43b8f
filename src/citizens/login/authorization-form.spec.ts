import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { authorizationFormAnswer } from './authorization-form.js';

const request = (body: string, type = 'application/x-www-form-urlencoded') =>
  Object.assign(Readable.from([Buffer.from(body)]), { headers: { 'content-type': type } }) as unknown as IncomingMessage;

describe('authorizationFormAnswer', () => {
  it('answers a form with a 303 to the same parameters as a GET, repeated ones included', async () => {
    expect(
      await authorizationFormAnswer(request('client_id=a&scope=openid&scope=x+y&state=%C3%A9'), '/oidc/auth', 1_000),
    ).toEqual({
      status: 303,
      location: '/oidc/auth?client_id=a&scope=openid&scope=x+y&state=%C3%A9',
    });
  });

  it('refuses what is no form, a body over the limit, a NUL, and a query too long for a URL', async () => {
    expect(await authorizationFormAnswer(request('{}', 'application/json'), '/oidc/auth', 1_000)).toMatchObject({ status: 400 });
    expect(await authorizationFormAnswer(request(`state=${'s'.repeat(2_000)}`), '/oidc/auth', 1_000)).toMatchObject({
      status: 413,
    });
    expect(await authorizationFormAnswer(request('state=a%00b'), '/oidc/auth', 1_000)).toMatchObject({ status: 400 });
    expect(await authorizationFormAnswer(request(`state=${'s'.repeat(9_000)}`), '/oidc/auth', 64_000)).toMatchObject({
      status: 400,
      error: 'invalid_request',
    });
  });
});
