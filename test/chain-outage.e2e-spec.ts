import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { JsonRpcProvider, makeError, Transaction } from 'ethers';
import { jest } from '@jest/globals';
import {
  ChainBootstrap,
  ChainClient,
  ChainStateLostError,
  EmbeddedChainNode,
  EmbeddedNodePortBusyError,
  embeddedNodeCommand,
  OutboxEntity,
  Reconciler,
  TrustedIssuerRegistry,
} from '../src/chain/index.js';
import { Database } from '../src/persistence/index.js';
import { testPort } from './support/ports.js';
import { holdNextCall } from './support/hold.js';
import { createActiveAgency, eventually, outboxSettled, startTestApp, type TestApp } from './support/test-app.js';

/** The process exists and is not a zombie (an orphan killed but not reaped yet by init is dead for our purposes). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone meanwhile
  }
};
const answersRpc = (port: number): Promise<boolean> =>
  fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    signal: AbortSignal.timeout(1_000),
  }).then(
    (response) => response.ok,
    () => false,
  );

/**
 * The embedded chain node is killed while an agency is being created: the agency and its chain writes
 * are kept in the outbox, and complete once the node is back (restarted and rebuilt from the journal).
 */
describe('chain node outage', () => {
  let app: TestApp;
  /** Lets the held restart of the killed node go on (also when a test failed before it did). */
  let endOutage: (() => void) | undefined;

  beforeAll(async () => {
    // The app runs its own embedded node, which this test kills.
    app = await startTestApp({ CHAIN_EMBEDDED_RESTART_MS: '2500' });
  });
  afterAll(async () => {
    endOutage?.();
    await app?.close();
  });

  it('keeps the writes in the outbox while the node is down and completes them when it returns', async () => {
    // Its authorisation is a governance proposal (ADR 15), executed at once in the one-member consortium.
    const before = await createActiveAgency(app, 'before-outage', 'Before the outage', ['driving-licence', 'business-licence']);
    const minedBefore = (await app.operator('GET', '/operator/outbox')).body.mined as number;
    const node = app.embeddedChain!;
    // The journal is replayed while the reconciler is held: a read of part of the state would settle the
    // authorisations not replayed yet as withdrawn (and refuse their issuance until the next round).
    const reconciler = app.app.get(Reconciler);
    const bootstrap = app.app.get(ChainBootstrap);
    const ensureContracts = bootstrap.ensureContracts.bind(bootstrap);
    const heldDuringReplay: boolean[] = [];
    const replay = jest.spyOn(bootstrap, 'ensureContracts').mockImplementation(async (options) => {
      heldDuringReplay.push(reconciler.held);
      return ensureContracts(options);
    });
    // Meanwhile every other reader finds the chain unavailable: a DID resolved after each replayed transaction
    // would read part of the state (its registry, then its keys one by one).
    const chain = app.app.get(ChainClient);
    const waitForReceipt = chain.waitForReceipt.bind(chain);
    const resolvedDuringReplay = new Set<number>();
    const replayed = jest.spyOn(chain, 'waitForReceipt').mockImplementation(async (txHash, timeoutMs) => {
      const receipt = await waitForReceipt(txHash, timeoutMs);
      if (chain.isRebuilding) resolvedDuringReplay.add((await app.call('GET', `/1.0/identifiers/${before.agency.did}`)).status);
      return receipt;
    });
    const statusesSeen = new Set<string>();
    const watchAuthorisations = async () => {
      const listed = await app.operator('GET', '/operator/agencies/before-outage/authorisations');
      if (listed.status === 200) for (const { status } of listed.body as { status: string }[]) statusesSeen.add(status);
    };
    // The service starts the node again after CHAIN_EMBEDDED_RESTART_MS: held here until the outage was observed.
    const restarting = holdNextCall(node, 'restart');
    endOutage = restarting.release;
    await node.kill();
    expect(node.running).toBe(false);

    const created = await app.operator('POST', '/operator/agencies', {
      slug: 'during-outage',
      name: 'Created while the chain is down',
    });
    expect(created.status).toBe(201);
    expect(created.body.agency.status).toBe('anchoring');

    // The worker tries, fails, and records why; nothing is mined while the node is down.
    const failing = await eventually(async () => {
      const view = (await app.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body;
      return view.chainWrites.length === 2 && (await app.operator('GET', '/operator/outbox')).body.mined === minedBefore
        ? view
        : undefined;
    });
    expect(failing.chainWrites.every((write: { status: string }) => write.status !== 'mined')).toBe(true);
    const health = await app.call('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('5');
    expect(health.body.error.chain).toMatchObject({ status: 'down', message: 'the chain node could not be reached' });
    // A load balancer keeps the replica: it serves from its database, and the outbox keeps the writes.
    const ready = await app.call('GET', '/health/ready');
    expect({ status: ready.status, database: ready.body.details?.database?.status }).toEqual({ status: 200, database: 'up' });
    expect((await app.call('GET', '/health/live')).status).toBe(200);
    // The writes' wait shows in the metrics while the node is down.
    const metrics = await fetch(`${app.url}/metrics`).then((response) => response.text());
    expect(Number(/^chancery_outbox_oldest_open_seconds (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(0);
    expect(/^chancery_outbox_entries\{status="pending"\} ([1-9]\d*)$/m.test(metrics)).toBe(true);
    endOutage?.();

    const after = await eventually(async () => {
      await watchAuthorisations();
      const view = (await app.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body;
      return view.status === 'active' ? view : undefined;
    }, 60_000);
    replay.mockRestore();
    replayed.mockRestore();
    expect(heldDuringReplay).toEqual([true]);
    expect([...resolvedDuringReplay]).toEqual([503]);
    expect(reconciler.held).toBe(false);
    await watchAuthorisations();
    expect([...statusesSeen]).toEqual(['active']);
    expect(node.running).toBe(true);
    expect(restarting.spy).toHaveBeenCalled();
    restarting.spy.mockRestore();
    expect(after.chainWrites.map((write: { status: string }) => write.status)).toEqual(['mined', 'mined']);

    // Both DIDs resolve on the restored chain, and no write was sent twice.
    for (const did of [before.agency.did, after.did]) {
      const resolved = await app.call('GET', `/1.0/identifiers/${did}`);
      expect(resolved.status).toBe(200);
      expect(resolved.body.didDocument.verificationMethod).toHaveLength(2);
    }
    // Two DID writes, then the three first status lists the active agency publishes and anchors.
    await outboxSettled(app);
    const counts = (await app.operator('GET', '/operator/outbox')).body;
    expect(counts).toEqual(expect.objectContaining({ mined: minedBefore + 5, pending: 0, signed: 0, signing: 0, reverted: 0 }));

    // The journal was replayed at the original block times (proposal expiries, permissions depend on them),
    // and the consortium's state came back with it.
    const entries = await app.app.get(Database).use(undefined, (m) => m.getRepository(OutboxEntity).findBy({ status: 'mined' }));
    const provider = new JsonRpcProvider(app.rpcUrl, app.config.chain.chainId, { staticNetwork: true });
    try {
      expect(entries.length).toBeGreaterThan(10);
      for (const entry of entries) {
        const receipt = await provider.getTransactionReceipt(entry.txHash!);
        expect({ purpose: entry.purpose, time: (await provider.getBlock(receipt!.blockNumber))!.timestamp }).toEqual({
          purpose: entry.purpose,
          time: entry.blockTimestamp,
        });
      }
    } finally {
      provider.destroy();
    }
    const issuer = before.agency.did.split(':').pop()!;
    expect(await app.app.get(TrustedIssuerRegistry).isAuthorisedOnChain(issuer, 'driving-licence')).toBe(true);
  });

  /** Creates an agency and waits until its DID writes are mined and it is active; returns its view. */
  async function agencyActivated(slug: string, name: string) {
    const created = await app.operator('POST', '/operator/agencies', { slug, name });
    expect(created.status).toBe(201);
    return eventually(async () => {
      const view = (await app.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body;
      return view.status === 'active' ? view : undefined;
    }, 60_000);
  }

  it('does not drop a write on one "would revert" answer (a node behind the others): it asks again and it is mined', async () => {
    const provider = app.app.get(ChainClient).provider;
    // The node answers the first estimates of the agency's first DID write as a revert, as a lagging node would.
    const estimate = provider.estimateGas.bind(provider);
    let lagging = 3;
    const estimating = jest.spyOn(provider, 'estimateGas').mockImplementation(async (tx) => {
      if (lagging-- > 0)
        throw makeError('execution reverted', 'CALL_EXCEPTION', {
          action: 'estimateGas',
          data: '0x',
          reason: null,
          transaction: { to: null, data: '0x' },
          invocation: null,
          revert: null,
        });
      return estimate(tx);
    });
    try {
      const active = await agencyActivated('lagging-node', 'Behind a lagging node');
      expect(active.chainWrites.every((write: { status: string }) => write.status === 'mined')).toBe(true);
      expect(lagging).toBeLessThan(0);
    } finally {
      estimating.mockRestore();
    }
  });

  it('does not sign a write again when a node reports its nonce taken by that very write (its receipt not there yet)', async () => {
    const chain = app.app.get(ChainClient);
    const provider = chain.provider;
    const broadcast = chain.sendRawTransaction.bind(chain);
    const receiptOf = provider.getTransactionReceipt.bind(provider);
    const sent: string[] = [];
    let laggingReceipts = 0;
    // The write reaches the chain, but the node that answers says "nonce too low" and, asked at once, has no receipt.
    const broadcasting = jest.spyOn(chain, 'sendRawTransaction').mockImplementation(async (raw) => {
      const hash = await broadcast(raw);
      sent.push(hash);
      if (sent.length === 1) {
        laggingReceipts = 2;
        throw makeError('nonce has already been used', 'NONCE_EXPIRED', { transaction: Transaction.from(raw) });
      }
      return hash;
    });
    const receipts = jest.spyOn(provider, 'getTransactionReceipt').mockImplementation(async (hash) => {
      if (hash === sent[0] && laggingReceipts-- > 0) return null;
      return receiptOf(hash);
    });
    try {
      const active = await agencyActivated('nonce-lag', 'Nonce reported taken');
      // The first write was mined as signed: its stored hash is the one sent, never re-signed under another nonce.
      const first = (await app.app
        .get(Database)
        .use(undefined, (m) => m.getRepository(OutboxEntity).findOneBy({ txHash: sent[0]! })))!;
      expect({ status: first.status, lastError: first.lastError }).toEqual({ status: 'mined', lastError: null });
      expect(active.chainWrites.every((write: { status: string }) => write.status === 'mined')).toBe(true);
    } finally {
      broadcasting.mockRestore();
      receipts.mockRestore();
    }
  });

  it('starts a replica whose chain node is down: it waits for the node, then serves', async () => {
    // The replica reaches the node through a port nobody listens on yet (the node down), opened a moment later.
    const port = await testPort();
    const node = new URL(app.rpcUrl);
    const starting = startTestApp({ CHAIN_RPC_URL: `http://127.0.0.1:${port}` }, { replicaOf: app });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const proxy = createNetServer((socket) => {
      const upstream = connect(Number(node.port), node.hostname);
      socket.pipe(upstream).pipe(socket);
      for (const end of [socket, upstream])
        end.on('error', () => {
          socket.destroy();
          upstream.destroy();
        });
    });
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    const replica = await starting;
    try {
      expect((await replica.call('GET', '/health')).status).toBe(200);
      expect((await replica.operator('GET', '/operator/chain')).body.contracts).toEqual(
        (await app.operator('GET', '/operator/chain')).body.contracts,
      );
    } finally {
      await replica.close();
      proxy.close();
    }
  });

  it('refuses to start on a node of another chain than CHAIN_ID, and /health reports a node swapped for one', async () => {
    const port = await testPort();
    const node = await EmbeddedChainNode.start({ chainId: 7777, port });
    const other = await EmbeddedChainNode.start({ chainId: 7778, port: await testPort() });
    try {
      await expect(startTestApp({ CHAIN_RPC_URL: other.rpcUrl })).rejects.toThrow(
        'the chain node is on chain 7778, not CHAIN_ID 7777',
      );
      const primary = await startTestApp({ CHAIN_RPC_URL: node.rpcUrl });
      try {
        expect((await primary.call('GET', '/health')).status).toBe(200);
        // The node behind CHAIN_RPC_URL's port is replaced by one of another chain (a misrouted proxy, say).
        await node.stop();
        const swapped = await EmbeddedChainNode.start({ chainId: 7778, port });
        try {
          // A new chain starts below the block seen before: /health asks the node's chain again at once.
          const health = await eventually(async () => {
            const answer = await primary.call('GET', '/health');
            return answer.status === 503 ? answer : undefined;
          });
          expect(health.body.error.chain.message).toBe('the chain node is on chain 7778, not CHAIN_ID 7777');
        } finally {
          await swapped.stop();
        }
      } finally {
        await primary.close();
      }
    } finally {
      await node.stop();
      await other.stop();
    }
  });

  it('reports an external node that lost its state: /health 503, and a restart refuses with one line', async () => {
    const port = await testPort();
    let node = await EmbeddedChainNode.start({ chainId: 7777, port });
    const primary = await startTestApp({ CHAIN_RPC_URL: node.rpcUrl });
    try {
      expect((await primary.call('GET', '/health')).status).toBe(200);
      const outboxOf = (agencyId: string) =>
        primary.app.get(Database).use(undefined, (m) => m.getRepository(OutboxEntity).findBy({ ref: `agency:${agencyId}` }));
      // An agency whose first write is signed and stored, its broadcast held until the node is gone (then it fails).
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let arrive!: () => void;
      const reached = new Promise<void>((resolve) => (arrive = resolve));
      const broadcast = jest.spyOn(primary.app.get(ChainClient), 'sendRawTransaction').mockImplementationOnce(async () => {
        arrive();
        await released;
        throw new Error('socket hang up');
      });
      const signedBefore = await primary.operator('POST', '/operator/agencies', { slug: 'signed-before', name: 'Signed before' });
      expect(signedBefore.status).toBe(201);
      await reached;
      // The node comes back on its port with nothing of ours on it.
      await node.stop();
      node = await EmbeddedChainNode.start({ chainId: 7777, port });
      release();
      // Waits for this reason itself: on a loaded host a first poll may be a 503 for a slow answer of the new node.
      const health = await eventually(async () => {
        const answer = await primary.call('GET', '/health');
        return answer.status === 503 && JSON.stringify(answer.body).includes('its node lost its state') ? answer : undefined;
      });
      expect(health.status).toBe(503);
      await expect(startTestApp({}, { replicaOf: primary })).rejects.toBeInstanceOf(ChainStateLostError);
      // An agency created now: its DID writes go to a registry address that holds no code on this chain. A call
      // there would be mined (and the agency shown active with no DID anywhere); they stay pending instead.
      const created = await primary.operator('POST', '/operator/agencies', { slug: 'after-reset', name: 'After reset' });
      expect(created.status).toBe(201);
      const outbox = () => outboxOf(created.body.agency.id);
      // The first write (the others wait for it, one signer) is tried and handed back, again and again.
      const tried = await eventually(async () => {
        const writes = await outbox();
        return writes.some((write) => write.status === 'mined' || write.lastError?.includes('no contract at'))
          ? writes
          : undefined;
      });
      // Handed back to pending, or claimed again this instant ('signing'): never signed, never mined.
      expect(tried.filter((write) => write.status !== 'pending' && write.status !== 'signing')).toEqual([]);
      expect(tried.filter((write) => write.txHash !== null)).toEqual([]);
      expect((await primary.operator('GET', `/operator/agencies/${created.body.agency.id}`)).body.status).toBe('anchoring');
      // The write signed before the reset is not sent there as stored bytes either: it stays signed, with the reason.
      const held = await eventually(async () => {
        const writes = await outboxOf(signedBefore.body.agency.id);
        return writes.some((write) => write.status === 'mined' || write.lastError?.includes('no contract at'))
          ? writes
          : undefined;
      });
      expect(held.map((write) => write.status).sort()).toEqual(['pending', 'signed']);
      broadcast.mockRestore();
    } finally {
      await primary.close();
      await node.stop();
    }
  });

  it('fails to start when a node it did not start holds the embedded port, sending it nothing but the chain-id probe', async () => {
    // The embedded node starts while the database opens and Nest builds its modules (startApp): its refusal
    // must still end the start-up, and close what was opened meanwhile.
    const port = await testPort();
    const requests: string[] = [];
    const orphan = createServer((req, res) => {
      req.resume();
      requests.push(req.method!);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1e61' }));
    });
    await new Promise<void>((resolve) => orphan.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startTestApp({ CHAIN_EMBEDDED_PORT: String(port) })).rejects.toBeInstanceOf(EmbeddedNodePortBusyError);
      // Asked for its chain id once, and nothing else came: no bootstrap ran against a node we did not start.
      expect(requests).toEqual(['POST']);
    } finally {
      orphan.closeAllConnections();
      await new Promise((resolve) => orphan.close(resolve));
    }
  });

  it('stops the embedded node when the service that started it is killed (no orphan holds the port)', async () => {
    const port = await testPort();
    // A stand-in for the service: starts the node exactly as the service does, then dies by SIGKILL.
    const service = spawn(
      process.execPath,
      [
        '-e',
        `const c = JSON.parse(process.argv[1]);
         const node = require('node:child_process').spawn(c.command, c.args, { cwd: c.cwd, env: c.env, stdio: ['pipe', 'ignore', 'ignore'] });
         process.stdout.write(node.pid + '\\n');
         setInterval(() => undefined, 1000);`,
        JSON.stringify(embeddedNodeCommand(port, 7777)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const nodePid = await new Promise<number>((resolve) =>
      service.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    try {
      await eventually(async () => ((await answersRpc(port)) ? true : undefined), 60_000);
      service.kill('SIGKILL');
      await eventually(async () => (!alive(nodePid) && !(await answersRpc(port)) ? true : undefined), 20_000);
    } finally {
      service.kill('SIGKILL');
      if (alive(nodePid)) process.kill(nodePid, 'SIGKILL');
    }
  });
});
