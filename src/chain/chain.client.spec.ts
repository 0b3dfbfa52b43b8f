import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ChainClient, ChainUnavailableError } from './chain.client.js';
import { testPort } from '../../test/support/ports.js';

/** A minimal JSON-RPC node: answers eth_blockNumber / eth_getCode, and can drop the next requests' sockets. */
async function fakeNode(): Promise<{ url: string; server: Server; drop: number; methods: string[]; sockets: Set<Socket> }> {
  const state = { drop: 0, methods: [] as string[], sockets: new Set<Socket>() };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const payloads = [JSON.parse(body)].flat() as { id: number; method: string }[];
      for (const p of payloads) state.methods.push(p.method);
      if (state.drop > 0) {
        state.drop--;
        req.socket.destroy(); // what a node closing an idle keep-alive socket looks like to the client: ECONNRESET
        return;
      }
      const resultOf = (method: string) =>
        method === 'eth_getCode' ? '0x60' : method === 'eth_getTransactionReceipt' ? null : '0x2a';
      const results = payloads.map((p) => ({ jsonrpc: '2.0', id: p.id, result: resultOf(p.method) }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? results : results[0]));
    });
  });
  server.on('connection', (socket) => {
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, server });
}

describe('ChainClient', () => {
  const clients: ChainClient[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reuses one keep-alive connection for consecutive requests', async () => {
    const node = await fakeNode();
    servers.push(node.server);
    const connections: Socket[] = [];
    node.server.on('connection', (socket: Socket) => connections.push(socket));
    const client = new ChainClient(node.url, 7777, 'govchain', 1_000);
    clients.push(client);
    for (let i = 0; i < 3; i++) expect(await client.blockNumber()).toBe(42);
    expect(connections).toHaveLength(1);
  });

  it('sends a read again when the node reset the socket under it', async () => {
    const node = await fakeNode();
    servers.push(node.server);
    const client = new ChainClient(node.url, 7777, 'govchain', 1_000);
    clients.push(client);
    node.drop = 2;
    expect(await client.blockNumber()).toBe(42);
    expect(await client.hasCode('0x' + '11'.repeat(20))).toBe(true);
    expect(node.methods.filter((m) => m === 'eth_blockNumber')).toHaveLength(3);
  });

  it('never repeats a write, and reports the failure as ChainUnavailableError', async () => {
    const node = await fakeNode();
    servers.push(node.server);
    const client = new ChainClient(node.url, 7777, 'govchain', 1_000);
    clients.push(client);
    node.drop = 1;
    const sent = client.provider.send('eth_sendRawTransaction', ['0x02']);
    await expect(sent).rejects.toBeInstanceOf(ChainUnavailableError);
    await expect(sent).rejects.toMatchObject({ code: 'CHAIN_UNAVAILABLE', reason: 'econnreset' });
    expect(node.methods.filter((m) => m === 'eth_sendRawTransaction')).toHaveLength(1);
  });

  it('throws ChainUnavailableError when the node refuses connections', async () => {
    const client = new ChainClient(`http://127.0.0.1:${await testPort()}`, 7777, 'govchain', 1_000);
    clients.push(client);
    await expect(client.blockNumber()).rejects.toMatchObject({ name: 'ChainUnavailableError', reason: 'econnrefused' });
    await expect(client.provider.call({ to: '0x' + '11'.repeat(20), data: '0x' })).rejects.toBeInstanceOf(ChainUnavailableError);
    await expect(client.provider.getLogs({ fromBlock: 0, toBlock: 1 })).rejects.toBeInstanceOf(ChainUnavailableError);
  });

  it('answers null when the transaction is not mined in time', async () => {
    const node = await fakeNode();
    servers.push(node.server);
    const client = new ChainClient(node.url, 7777, 'govchain', 50);
    clients.push(client);
    expect(await client.waitForReceipt('0x' + 'ab'.repeat(32), 200)).toBeNull();
    // How many polls fit in the window depends on the machine's load; at least the first one was asked.
    expect(node.methods).toContain('eth_getTransactionReceipt');
  });

  it('reports a node that is down while waiting for a receipt, and leaves no unhandled rejection behind', async () => {
    // ethers' waitForTransaction rejected a promise nobody handled here, which ends a process during a chain outage.
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const client = new ChainClient(`http://127.0.0.1:${await testPort()}`, 7777, 'govchain', 50);
      clients.push(client);
      await expect(client.waitForReceipt('0x' + 'ab'.repeat(32), 5_000)).rejects.toBeInstanceOf(ChainUnavailableError);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
