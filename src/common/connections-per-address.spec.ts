import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { connectionAddressKey, isLoopbackKey, limitConnectionsPerAddress } from './connections-per-address.js';

describe('connectionAddressKey', () => {
  it('counts IPv4 per address (mapped or not) and IPv6 per /64', () => {
    expect(connectionAddressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(connectionAddressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(connectionAddressKey('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(connectionAddressKey('2001:db8:a:b::9')).toBe('2001:db8:a:b::/64');
    expect(connectionAddressKey('2001:0db8::1')).toBe('2001:db8:0:0::/64');
    expect(connectionAddressKey('64:ff9b::198.51.100.9')).toBe('198.51.100.9');
    expect(connectionAddressKey('::1')).toBe('::1');
    expect(connectionAddressKey('::2')).toBe('0:0:0:0::/64');
  });

  it("knows loopback clients (not counted by default: this host's own proxy and tools)", () => {
    expect(isLoopbackKey(connectionAddressKey('127.0.0.1'))).toBe(true);
    expect(isLoopbackKey(connectionAddressKey('::ffff:127.0.0.2'))).toBe(true);
    expect(isLoopbackKey(connectionAddressKey('::1'))).toBe(true);
    expect(isLoopbackKey(connectionAddressKey('203.0.113.7'))).toBe(false);
    expect(isLoopbackKey(connectionAddressKey('2001:db8::1'))).toBe(false);
    expect(isLoopbackKey(connectionAddressKey('::2'))).toBe(false);
    expect(isLoopbackKey(connectionAddressKey('::ffff:0:1.2.3.4'))).toBe(false);
  });
});

describe('limitConnectionsPerAddress', () => {
  it('closes the connection over the limit and accepts again once one has closed', async () => {
    const server = createServer((_request, response) => response.end('ok'));
    // This test's client is on loopback, which the service does not count: nothing exempt here.
    limitConnectionsPerAddress(server, 2, () => false);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const served = async () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const answer = await new Promise<string>((resolve) => {
        socket.once('data', (data) => resolve(String(data)));
        socket.once('close', () => resolve('closed'));
      });
      return { socket, answer };
    };
    try {
      const first = await served();
      const second = await served();
      expect([first.answer, second.answer].map((answer) => answer.split('\r\n')[0])).toEqual([
        'HTTP/1.1 200 OK',
        'HTTP/1.1 200 OK',
      ]);
      expect((await served()).answer).toBe('closed');
      first.socket.destroy();
      // The server learns of the close a moment later: a few tries, each closed until it has.
      let again = await served();
      for (let tries = 0; again.answer === 'closed' && tries < 100; tries++) again = await served();
      expect(again.answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      for (const socket of [second.socket, again.socket]) socket.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
