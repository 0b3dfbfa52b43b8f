import { spawn } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { childEntry } from '../../test/support/child-command.js';
import { SigningThread } from './signing-thread.js';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifies = (publicKey: KeyObject, data: Uint8Array, signature: Uint8Array) =>
  verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);

describe('SigningThread', () => {
  let thread: SigningThread;
  beforeEach(() => {
    thread = new SigningThread();
  });
  afterEach(async () => {
    await thread.close();
  });

  it('answers every caller of a large batch with its own signature, keys and data mixed', async () => {
    const keys = [p256(), p256()];
    // More than one message's worth of answers, asked for in the same turn: one batch, answered in parts.
    const asked = Array.from({ length: 37 }, (_, i) => ({ pair: keys[i % 2]!, data: randomBytes(100 + i) }));
    const signatures = await Promise.all(asked.map(({ pair, data }) => thread.sign(pair.privateKey, data)));
    asked.forEach(({ pair, data }, i) => {
      expect(signatures[i]).toHaveLength(64);
      expect(verifies(pair.publicKey, data, signatures[i]!)).toBe(true);
      // Not another caller's: the other key does not verify it.
      expect(verifies(keys[(i + 1) % 2]!.publicKey, data, signatures[i]!)).toBe(false);
    });
  });

  it('goes on signing in later turns with the keys it was given', async () => {
    const pair = p256();
    for (let i = 0; i < 3; i++) {
      const data = Buffer.from(`turn ${i}`);
      expect(verifies(pair.publicKey, data, await thread.sign(pair.privateKey, data))).toBe(true);
    }
  });

  it('refuses only the signature whose key cannot sign, not the rest of its batch', async () => {
    const pair = p256();
    const [good, bad] = await Promise.allSettled([
      thread.sign(pair.privateKey, Buffer.from('a')),
      thread.sign(createSecretKey(randomBytes(32)), Buffer.from('b')),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(verifies(pair.publicKey, Buffer.from('a'), (good as PromiseFulfilledResult<Buffer>).value)).toBe(true);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/key/i);
  });

  it('signs inline what a thread that stopped left unanswered, and starts a new one for the next signature', async () => {
    const pair = p256();
    expect(verifies(pair.publicKey, Buffer.from('first'), await thread.sign(pair.privateKey, Buffer.from('first')))).toBe(true);
    // The thread stops on its own (as a crash would), with signatures on their way.
    const worker = (thread as unknown as { worker: Worker }).worker;
    const data = Array.from({ length: 12 }, () => randomBytes(64));
    const pending = data.map((bytes) => thread.sign(pair.privateKey, bytes));
    await worker.terminate();
    const signatures = await Promise.all(pending);
    signatures.forEach((signature, i) => expect(verifies(pair.publicKey, data[i]!, signature)).toBe(true));
    // A new thread, given its keys again.
    const after = Buffer.from('after');
    expect(verifies(pair.publicKey, after, await thread.sign(pair.privateKey, after))).toBe(true);
    expect((thread as unknown as { worker: Worker }).worker).not.toBe(worker);
  });

  it('answers the signatures still on their way when closed, and signs inline afterwards', async () => {
    const pair = p256();
    const data = Array.from({ length: 8 }, () => randomBytes(64));
    const pending = data.map((bytes) => thread.sign(pair.privateKey, bytes));
    await thread.close();
    const signatures = await Promise.all(pending);
    signatures.forEach((signature, i) => expect(verifies(pair.publicKey, data[i]!, signature)).toBe(true));
    const late = Buffer.from('late');
    expect(verifies(pair.publicKey, late, await thread.sign(pair.privateKey, late))).toBe(true);
  });

  it('keeps no process alive once its answers are in: a process that signed and did not close it exits', async () => {
    const child = spawn(process.execPath, childEntry('test/support/sign-and-exit.ts'), {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Not a time limit on the work: a process the thread kept alive would never exit, and is killed here.
    const hung = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    clearTimeout(hung);
    expect({ code, signal, output: output.trim() }).toEqual({ code: 0, signal: null, output: '64 64 64' });
  });

  it('signs a batch inline that cannot be sent to the thread (a detached buffer), rather than leaving it unanswered', async () => {
    const pair = p256();
    const detached = new Uint8Array(new ArrayBuffer(32));
    const good = thread.sign(pair.privateKey, Buffer.from('fine'));
    const bad = thread.sign(pair.privateKey, detached);
    // Detached before the batch is sent: the message cannot carry it.
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(verifies(pair.publicKey, Buffer.from('fine'), await good)).toBe(true);
    // What inline signing gives for it: a detached view has no bytes left.
    expect(verifies(pair.publicKey, Buffer.alloc(0), await bad)).toBe(true);
  });
});
