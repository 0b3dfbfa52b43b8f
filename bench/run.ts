// Issue and verify credentials in-process and over HTTP, next to the raw node:crypto ES256 ceiling
// measured in the same run on the same machine. Usage: npm run bench  (BENCH_N, BENCH_CONCURRENCY)
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { startApp } from '../src/app.js';
import { freePort } from '../src/chain/index.js';
import { AgencyService, AuthorisationService, DemoCredentialsFile, IssuanceService } from '../src/issuer/index.js';
import { VerifierService } from '../src/verifier/index.js';

const N = Number(process.env.BENCH_N ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const CLAIMS = {
  family_name: 'Li',
  given_name: 'Hua',
  birth_date: '1990-01-31',
  licence_number: '110101199001311234',
  categories: ['C1', 'D'],
  issue_date: '2012-05-01',
  expiry_date: '2032-05-01',
};

async function rate(label: string, count: number, task: (i: number) => Promise<unknown>, concurrency = 1) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { label, perSecond: count / seconds };
}

function rawCeiling() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = randomBytes(1500);
  const signature = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const time = (fn: () => unknown) => {
    const until = Date.now() + 1500;
    let count = 0;
    const started = process.hrtime.bigint();
    while (Date.now() < until) for (let i = 0; i < 100; i++, count++) fn();
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  return {
    sign: time(() => sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
    verify: time(() => verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)),
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'chancery-bench-'));
const port = String(await freePort());
const running = await startApp(
  loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: port,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    CHAIN_EMBEDDED_PORT: '0',
    DEMO_AGENCY: 'true',
    OUTBOX_POLL_MS: '50',
    CHAIN_POLL_MS: '50',
  }),
);
try {
  const { app, url } = running;
  const demo = new DemoCredentialsFile(running.config).read().demoAgency!;
  const agencies = app.get(AgencyService);
  const authorisations = app.get(AuthorisationService);
  for (;;) {
    const agency = await agencies.get(demo.id);
    const ready = (await authorisations.list(demo.id)).every((entry) => entry.status === 'active');
    if (agency.status === 'active' && ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const agency = await agencies.get(demo.id);
  const issuance = app.get(IssuanceService);
  const verifier = app.get(VerifierService);

  const ceiling = rawCeiling();
  const results: { label: string; perSecond: number; ceiling: number }[] = [];
  for (const format of ['dc+sd-jwt', 'jwt_vc_json'] as const) {
    const issued: string[] = [];
    const inProcessIssue = await rate(`issue ${format}, in-process`, N, async () => {
      issued.push((await issuance.issue(agency, { typeId: 'driving-licence', claims: CLAIMS, format })).credential);
    });
    results.push({ ...inProcessIssue, ceiling: ceiling.sign });
    const inProcessVerify = await rate(`verify ${format}, in-process`, N, async (i) => {
      const result = await verifier.verifyCredential(issued[i % issued.length]!);
      if (!result.verified) throw new Error(JSON.stringify(result.checks));
    });
    results.push({ ...inProcessVerify, ceiling: ceiling.verify });

    const body = JSON.stringify({
      credential: { type: ['VerifiableCredential', 'DrivingLicenceCredential'], credentialSubject: CLAIMS },
      options: { format },
    });
    const httpIssue = await rate(
      `issue ${format}, HTTP x${CONCURRENCY}`,
      N,
      async () => {
        const response = await fetch(`${url}/credentials/issue`, {
          method: 'POST',
          headers: { authorization: `Bearer ${demo.apiKey}`, 'content-type': 'application/json' },
          body,
        });
        if (response.status !== 201) throw new Error(await response.text());
        await response.arrayBuffer();
      },
      CONCURRENCY,
    );
    results.push({ ...httpIssue, ceiling: ceiling.sign });
    const httpVerify = await rate(
      `verify ${format}, HTTP x${CONCURRENCY}`,
      N,
      async (i) => {
        const response = await fetch(`${url}/credentials/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ verifiableCredential: issued[i % issued.length] }),
        });
        const result = (await response.json()) as { verified: boolean };
        if (!result.verified) throw new Error('verification failed');
      },
      CONCURRENCY,
    );
    results.push({ ...httpVerify, ceiling: ceiling.verify });
  }

  const pad = (text: string, width: number) => text.padEnd(width);
  console.log(
    `\nChancery benchmark: N=${N} per row, HTTP concurrency ${CONCURRENCY}, Node ${process.version}, SQLite + embedded chain\n`,
  );
  console.log(
    `raw node:crypto ES256 (P-256, 1.5 KB input, one core): sign ${ceiling.sign.toFixed(0)}/s, verify ${ceiling.verify.toFixed(0)}/s\n`,
  );
  console.log(`${pad('operation', 36)}${pad('ops/s', 10)}ratio to raw (sign for issue, verify for verify)`);
  for (const result of results) {
    console.log(
      `${pad(result.label, 36)}${pad(result.perSecond.toFixed(0), 10)}${(result.perSecond / result.ceiling).toFixed(3)}`,
    );
  }
} finally {
  await running.close();
  rmSync(dataDir, { recursive: true, force: true });
}
