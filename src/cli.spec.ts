import { execFile } from 'node:child_process';
import { scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEntry } from '../test/support/child-command.js';
import { requestFor, runCli } from './cli.js';

describe('CLI as operators run it', () => {
  const run = (args: string[], cwd: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [...childEntry('src/cli.ts'), ...args], { cwd, env: {} }, (error, stdout, stderr) =>
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('prints its usage for --help, help or no command, and exits 0', async () => {
    for (const argv of [['--help'], ['help'], [], ['-h']]) {
      const { ok, output } = await runCli(argv, {});
      expect(ok).toBe(true);
      expect(String(output)).toMatch(/^Usage: npm run cli -- <command>/);
    }
  });

  it('reads OPERATOR_API_KEY and CHANCERY_URL from a .env file in the working directory, as the service does', async () => {
    const seen: { url?: string; authorization?: string } = {};
    const server = createServer((request, response) => {
      Object.assign(seen, { url: request.url, authorization: request.headers.authorization });
      response.setHeader('content-type', 'application/json').end('{"department":{"name":"Transport"}}');
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const dir = mkdtempSync(join(tmpdir(), 'chancery-cli-'));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(join(dir, '.env'), `OPERATOR_API_KEY=from-dot-env-operator-key\nCHANCERY_URL=${url}\n`);
      const answered = await run(['consortium:status'], dir);
      expect(answered).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(answered.stdout)).toEqual({ department: { name: 'Transport' } });
      expect(seen).toEqual({ url: '/operator/consortium', authorization: 'Bearer from-dot-env-operator-key' });
      const help = await run(['--help'], dir);
      expect({ code: help.code, usage: help.stdout.startsWith('Usage: npm run cli') }).toEqual({ code: 0, usage: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await new Promise((closed) => server.close(closed));
    }
  }, 60_000);

  it('names the service it could not reach, and a file it could not read or parse', async () => {
    const closed = createServer();
    await new Promise<void>((listening) => closed.listen(0, '127.0.0.1', listening));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((done) => closed.close(done));
    const env = { OPERATOR_API_KEY: 'an-operator-key-of-24-chars', CHANCERY_URL: url };
    await expect(runCli(['agency:list'], env)).rejects.toThrow(
      `cannot reach the service at ${url} (ECONNREFUSED); is it running, and is CHANCERY_URL right?`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'chancery-cli-'));
    try {
      writeFileSync(join(dir, 'type.json'), '{"id": "x",');
      await expect(runCli(['catalogue:create', '--file', join(dir, 'type.json')], env)).rejects.toThrow(
        new RegExp(`^${join(dir, 'type.json')}: not JSON \\(`),
      );
      await expect(runCli(['catalogue:create', '--file', join(dir, 'missing.json')], env)).rejects.toThrow(
        `${join(dir, 'missing.json')}: cannot be read (ENOENT)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CLI consortium commands', () => {
  const b = '0x' + 'b'.repeat(40);

  it('maps consortium:* and proposal:* to the operator API', () => {
    expect(requestFor(['apikey:list', 'tax bureau'])).toEqual({
      method: 'GET',
      path: '/operator/agencies/tax%20bureau/api-keys',
    });
    expect(requestFor(['consortium:status'])).toEqual({ method: 'GET', path: '/operator/consortium' });
    expect(requestFor(['consortium:init', '--threshold', '2', '--founder', `${b}=Tax = Customs`, '--name', 'Transport'])).toEqual(
      {
        method: 'POST',
        path: '/operator/consortium/init',
        body: { threshold: 2, founders: [{ member: b, name: 'Tax = Customs' }], departmentName: 'Transport' },
      },
    );
    expect(requestFor(['consortium:join', b])).toEqual({
      method: 'POST',
      path: '/operator/consortium/join',
      body: { governance: b },
    });
    expect(requestFor(['proposal:list'])).toEqual({ method: 'GET', path: '/operator/consortium/proposals' });
    expect(requestFor(['proposal:vote', '7'])).toEqual({ method: 'POST', path: '/operator/consortium/proposals/7/votes' });
    expect(
      requestFor([
        'proposal:create',
        '--kind',
        'GrantPermission',
        '--relying-party',
        'did:web:rp.example',
        '--client-id',
        'redirect_uri:https://rp.example/cb',
        '--type',
        'driving-licence',
        '--claim',
        'given_name',
        '--claim',
        'family_name',
        '--purpose',
        'Car rental',
        '--expires-at',
        '1900000000',
      ]).body,
    ).toEqual({
      kind: 'GrantPermission',
      relyingParty: 'did:web:rp.example',
      clientId: 'redirect_uri:https://rp.example/cb',
      credentialType: 'driving-licence',
      claims: ['given_name', 'family_name'],
      purpose: 'Car rental',
      expiresAt: 1_900_000_000,
    });
    expect(
      requestFor(['proposal:create', '--kind', 'AuthoriseIssuer', '--issuer', 'transport', '--type', 'driving-licence']),
    ).toEqual({
      method: 'POST',
      path: '/operator/consortium/proposals',
      body: { kind: 'AuthoriseIssuer', issuer: 'transport', credentialType: 'driving-licence' },
    });
  });

  it('maps the joint-approval policy kinds and approvals:* commands (issue 16)', () => {
    const c = '0x' + 'c'.repeat(40);
    const id = '0x' + 'A1'.repeat(32);
    expect(
      requestFor([
        'proposal:create',
        '--kind',
        'SetApprovalPolicy',
        '--type',
        'business-licence',
        '--issuing-department',
        b,
        '--issuing-agency',
        'market-office',
        '--department',
        b,
        '--department',
        c,
        '--required',
        '2',
        '--decision-period',
        '86400',
      ]).body,
    ).toEqual({
      kind: 'SetApprovalPolicy',
      credentialType: 'business-licence',
      issuingDepartment: b,
      issuingAgency: 'market-office',
      departments: [b, c],
      required: 2,
      decisionPeriodSeconds: 86_400,
    });
    expect(requestFor(['proposal:create', '--kind', 'RetireApprovalPolicy', '--policy', '3']).body).toEqual({
      kind: 'RetireApprovalPolicy',
      policyId: '3',
    });
    expect(requestFor(['approval-policy:list'])).toEqual({ method: 'GET', path: '/operator/consortium/approval-policies' });
    expect(requestFor(['approvals:inbox'])).toEqual({ method: 'GET', path: '/operator/approvals/inbox' });
    expect(requestFor(['approvals:show', id])).toEqual({ method: 'GET', path: `/operator/approvals/${id.toLowerCase()}` });
    expect(requestFor(['approvals:decide', id, '--reject', '--reason', 'fire-exits'])).toEqual({
      method: 'POST',
      path: `/operator/approvals/${id.toLowerCase()}/decision`,
      body: { approve: false, reasonCode: 'fire-exits' },
    });
    expect(() => requestFor(['approvals:decide', id])).toThrow(/--approve or --reject/);
    expect(requestFor(['approvals:expire', id])).toEqual({
      method: 'POST',
      path: `/operator/approvals/${id.toLowerCase()}/expire`,
    });
    expect(() => requestFor(['approvals:expire'])).toThrow(/application id/);
    expect(() => requestFor(['approvals:show', 'nope'])).toThrow(/application id/);
  });

  it('refuses a vote or a join without its argument', () => {
    expect(() => requestFor(['proposal:vote'])).toThrow(/proposal id/);
    expect(() => requestFor(['consortium:join'])).toThrow(/governance address/);
  });
});

describe('CLI citizen:hash-password', () => {
  it('hashes the password read as a secret (not from argv) with scrypt, as the citizen directory keeps it', async () => {
    const { ok, output } = await runCli(['citizen:hash-password'], {}, async () => 'correct horse battery');
    expect(ok).toBe(true);
    const [scheme, salt, key] = (output as { password: string }).password.split(':');
    expect(scheme).toBe('scrypt');
    expect(scryptSync('correct horse battery', Buffer.from(salt!, 'base64url'), 32).toString('base64url')).toBe(key);
    await expect(runCli(['citizen:hash-password'], {}, async () => 'short')).rejects.toThrow(/at least 8/);
  });
});
