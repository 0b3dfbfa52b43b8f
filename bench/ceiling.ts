// The ceilings a credential service is compared with, measured in the same run: raw node:crypto ES256,
// the @sd-jwt/sd-jwt-vc library alone, and a bare Nest + Fastify route doing one signature.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, ES256, generateSalt } from '@sd-jwt/crypto-nodejs';
import { runMeasuredLoad, type LoadResult } from './load.js';

export const CLAIMS = {
  family_name: 'Li',
  given_name: 'Hua',
  birth_date: '1990-01-31',
  licence_number: '110101199001311234',
  categories: ['C1', 'D'],
  issue_date: '2012-05-01',
  expiry_date: '2032-05-01',
};

/** Operations per second of `fn`, run for about `ms` milliseconds on this thread. */
function timed(fn: () => unknown, ms = 1500): number {
  const until = performance.now() + ms;
  let count = 0;
  const started = performance.now();
  while (performance.now() < until) for (let i = 0; i < 50; i++, count++) fn();
  return count / ((performance.now() - started) / 1000);
}

async function timedAsync(fn: () => Promise<unknown>, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await fn();
  return count / ((performance.now() - started) / 1000);
}

const rawKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rawInput = randomBytes(1500);
const rawSignature = sign('sha256', rawInput, { key: rawKeys.privateKey, dsaEncoding: 'ieee-p1363' });

/** Raw ES256 signatures (or verifications) per second over a typical credential signing input (1.5 KB), one core. */
export function rawRate(kind: 'sign' | 'verify', ms = 1500): number {
  return kind === 'sign'
    ? timed(() => sign('sha256', rawInput, { key: rawKeys.privateKey, dsaEncoding: 'ieee-p1363' }), ms)
    : timed(() => verify('sha256', rawInput, { key: rawKeys.publicKey, dsaEncoding: 'ieee-p1363' }, rawSignature), ms);
}

/** Raw ES256 over a typical credential signing input (1.5 KB), one core. */
export function rawCeiling(): { sign: number; verify: number } {
  return { sign: rawRate('sign'), verify: rawRate('verify') };
}

/** A measurement and the raw rate of its ceiling around it (see `bracketed`). */
export interface Bracketed<T> {
  result: T;
  nearCeiling: number;
}

/**
 * The raw rate of `kind` measured for `ms` right before and right after `run` (their mean): the host's
 * speed drifts over a run (other tenants), and a row compared with the ceiling of the same second is not
 * moved by that drift.
 */
export async function bracketed<T>(kind: 'sign' | 'verify', run: () => Promise<T>, ms = 500): Promise<Bracketed<T>> {
  const before = rawRate(kind, ms);
  const result = await run();
  return { result, nearCeiling: (before + rawRate(kind, ms)) / 2 };
}

/** The SD-JWT VC library alone: issue with the same claims (half disclosable), verify the result. */
export async function libraryFloor(
  count: number,
  warmUp: number,
): Promise<{ issue: Bracketed<number>; verify: Bracketed<number> }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sdjwt = new SDJwtVcInstance({
    signer: await ES256.getSigner(privateKey.export({ format: 'jwk' })),
    verifier: await ES256.getVerifier(publicKey.export({ format: 'jwk' })),
    signAlg: 'ES256',
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
  });
  const payload = { iss: 'did:example:issuer', vct: 'https://example.org/driving-licence', iat: 1_700_000_000, ...CLAIMS };
  const frame = { _sd: ['family_name', 'given_name', 'birth_date', 'licence_number'] } as never;
  let last = '';
  await timedAsync(async () => {
    last = await sdjwt.issue(payload, frame);
  }, warmUp);
  await timedAsync(() => sdjwt.verify(last), warmUp);
  const issue = await bracketed('sign', () =>
    timedAsync(async () => {
      last = await sdjwt.issue(payload, frame);
    }, count),
  );
  const credential = last;
  const verifyRate = await bracketed('verify', () => timedAsync(() => sdjwt.verify(credential), count));
  return { issue, verify: verifyRate };
}

const bareKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const bareSignature = { input: Buffer.alloc(0), signature: Buffer.alloc(0) };

@Controller()
class BareController {
  @Post('sign')
  @HttpCode(200)
  sign(@Body() body: { payload: string }) {
    const signature = sign('sha256', Buffer.from(body.payload), { key: bareKeys.privateKey, dsaEncoding: 'ieee-p1363' });
    return { signature: signature.toString('base64url') };
  }

  @Post('verify')
  @HttpCode(200)
  verify(@Body() body: { payload: string }) {
    void body;
    const ok = verify(
      'sha256',
      bareSignature.input,
      { key: bareKeys.publicKey, dsaEncoding: 'ieee-p1363' },
      bareSignature.signature,
    );
    return { verified: ok };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

/** A bare Nest + Fastify app with one route that signs (or verifies) once, under the same HTTP load. */
export async function bareNestRoute(
  count: number,
  concurrency: number,
  warmUp: number,
): Promise<Record<'sign' | 'verify', Bracketed<LoadResult & { cpuMicros: number }>>> {
  bareSignature.input = randomBytes(1500);
  bareSignature.signature = sign('sha256', bareSignature.input, { key: bareKeys.privateKey, dsaEncoding: 'ieee-p1363' });
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  try {
    const spec = (path: string) => ({
      url: `${url.replace('[::1]', '127.0.0.1')}/${path}`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      bodies: [JSON.stringify({ payload: randomBytes(1100).toString('base64url') })],
      expectStatus: 200,
      concurrency,
      count,
    });
    // The measuring load generator warms itself and the route up first, so both are measured warm, as the
    // service's routes are (see benchService).
    const measured = (path: 'sign' | 'verify') => bracketed(path, () => runMeasuredLoad({ ...spec(path), warmUp }));
    return { sign: await measured('sign'), verify: await measured('verify') };
  } finally {
    await app.close();
  }
}
