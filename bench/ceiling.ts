// The ceilings a credential service is compared with, measured in the same run: raw node:crypto ES256,
// the @sd-jwt/sd-jwt-vc library alone, and a bare Nest + Fastify route doing one signature.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { Worker } from 'node:worker_threads';
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

async function timedAsync(fn: () => Promise<unknown>, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await fn();
  return count / ((performance.now() - started) / 1000);
}

/**
 * The raw measurement's code, evaluated on a thread of its own (CommonJS): ES256 over a 1.5 KB input, as
 * many as fit in `ms`, with node:crypto's one-shot sign/verify.
 */
const RAW_THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { generateKeyPairSync, randomBytes, sign, verify } = require('node:crypto');
const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const input = randomBytes(1500);
const signature = sign('sha256', input, { key: keys.privateKey, dsaEncoding: 'ieee-p1363' });
const operations = {
  sign: () => sign('sha256', input, { key: keys.privateKey, dsaEncoding: 'ieee-p1363' }),
  verify: () => verify('sha256', input, { key: keys.publicKey, dsaEncoding: 'ieee-p1363' }, signature),
};
parentPort.on('message', ({ kind, ms }) => {
  const fn = operations[kind];
  const started = performance.now();
  const until = started + ms;
  let count = 0;
  while (performance.now() < until) for (let i = 0; i < 50; i++, count++) fn();
  parentPort.postMessage(count / ((performance.now() - started) / 1000));
});
`;

/**
 * Raw rates are measured on a thread of their own, one core, while the service's thread waits: measured on
 * the service's thread they blocked its event loop for the whole measurement (its load sampler read that as
 * saturation and changed how it signed, ADR 36) and left the garbage of ~20,000 signatures in its young
 * generation (a 14–19 ms scavenge in the row that followed, against 3–4 ms).
 */
let rawThread: Worker | undefined;

/** Raw ES256 signatures (or verifications) per second over a typical credential signing input (1.5 KB), one core. */
export function rawRate(kind: 'sign' | 'verify', ms = 1500): Promise<number> {
  const thread = (rawThread ??= new Worker(RAW_THREAD_SOURCE, { eval: true, name: 'raw ceiling' }));
  return new Promise<number>((resolve, reject) => {
    const settle = () => {
      thread.off('message', answered);
      thread.off('error', failed);
      thread.unref();
    };
    const answered = (rate: number) => {
      settle();
      resolve(rate);
    };
    const failed = (error: Error) => {
      settle();
      rawThread = undefined;
      reject(error);
    };
    thread.ref();
    thread.once('message', answered);
    thread.once('error', failed);
    thread.postMessage({ kind, ms });
  });
}

/** Raw ES256 over a typical credential signing input (1.5 KB), one core. */
export async function rawCeiling(): Promise<{ sign: number; verify: number }> {
  return { sign: await rawRate('sign'), verify: await rawRate('verify') };
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
  const before = await rawRate(kind, ms);
  const result = await run();
  return { result, nearCeiling: (before + (await rawRate(kind, ms))) / 2 };
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
