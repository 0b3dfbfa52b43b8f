import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { EmbeddedChainNode, EmbeddedNodePortBusyError, freePort } from './embedded-node.js';
import { restartDelayMs } from './chain-bootstrap.js';

describe('EmbeddedChainNode', () => {
  let orphan: Server | undefined;
  afterEach(async () => {
    orphan?.closeAllConnections();
    await new Promise((resolve) => (orphan ? orphan.close(resolve) : resolve(undefined)));
    orphan = undefined;
  });

  it('refuses a node on its port that it did not start (e.g. the orphan of a killed service), with our chain id', async () => {
    const port = await freePort();
    // Answers like a hardhat node of the same chain (7777) would; we must not adopt it.
    orphan = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1e61' }));
    });
    await new Promise<void>((resolve) => orphan!.listen(port, '127.0.0.1', resolve));

    const started = EmbeddedChainNode.start({ chainId: 7777, port, readyTimeoutMs: 5_000 });
    await expect(started).rejects.toBeInstanceOf(EmbeddedNodePortBusyError);
    await expect(started).rejects.toMatchObject({ port, foundChainId: 7777 });
  });

  it('refuses a port held by a program that is no JSON-RPC node, saying so', async () => {
    const port = await freePort();
    orphan = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => orphan!.listen(port, '127.0.0.1', resolve));

    const started = EmbeddedChainNode.start({ chainId: 7777, port, readyTimeoutMs: 5_000 });
    await expect(started).rejects.toMatchObject({ name: 'EmbeddedNodePortBusyError', port, foundChainId: undefined });
    await expect(started).rejects.toThrow(`Port ${port} is held by a program that this service did not start`);
  });

  it('picks free ports below the ephemeral range, which outgoing connections never take meanwhile, and above the ports fetch refuses', async () => {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = await Promise.all(Array.from({ length: 8 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThan(10_080); // the highest "bad port" of the Fetch standard
      expect(port).toBeLessThan(ephemeralLow!);
    }
    // Each can be listened on (the one picked last too, though nothing holds it).
    orphan = createServer();
    await new Promise<void>((resolve, reject) => orphan!.once('error', reject).listen(ports.at(-1), '127.0.0.1', resolve));
    expect((orphan.address() as { port: number }).port).toBe(ports.at(-1));
  });

  it('backs off between restarts, doubling up to a minute', () => {
    expect([1, 2, 3, 4].map((attempt) => restartDelayMs(1_000, attempt))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(restartDelayMs(1_000, 50)).toBe(60_000);
  });
});
