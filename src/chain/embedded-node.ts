import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { projectRoot } from '../common/index.js';

export interface EmbeddedNodeOptions {
  chainId: number;
  /** 0 picks a free port. */
  port: number;
  readyTimeoutMs?: number;
}

/** A hardhat node run as a child process: the embedded development chain, also used by the tests. */
export class EmbeddedChainNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly crashListeners: (() => void)[] = [];

  private constructor(
    readonly rpcUrl: string,
    readonly port: number,
    private readonly chainId: number,
  ) {}

  static async start(options: EmbeddedNodeOptions): Promise<EmbeddedChainNode> {
    const port = options.port === 0 ? await freePort() : options.port;
    const node = new EmbeddedChainNode(`http://127.0.0.1:${port}`, port, options.chainId);
    await node.spawn(options.readyTimeoutMs ?? 60_000);
    return node;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Called when the node dies without stop() having been asked for (a crash, or kill() in tests). */
  onCrash(listener: () => void): void {
    this.crashListeners.push(listener);
  }

  /** Starts the node again on the same port: a fresh, empty chain. */
  async restart(readyTimeoutMs = 60_000): Promise<void> {
    await this.stop();
    await this.spawn(readyTimeoutMs);
  }

  /** Simulates a crash: SIGKILL, no clean shutdown. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }

  private async spawn(readyTimeoutMs: number): Promise<void> {
    const root = projectRoot();
    const cli = createRequire(join(root, 'package.json')).resolve('hardhat/internal/cli/cli.js');
    const child = spawn(
      process.execPath,
      [
        cli,
        'node',
        '--hostname',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--config',
        join(root, 'docker/chain/hardhat.config.cjs'),
      ],
      {
        cwd: join(root, 'docker/chain'),
        // The child inherits our environment (PATH, proxies); it is not configuration we read.
        // eslint-disable-next-line no-restricted-properties
        env: { ...process.env, CHAIN_ID: String(this.chainId), HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.stopping = false;
    let ready = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        resolve();
        if (ready && !this.stopping) for (const listener of this.crashListeners) listener();
      }),
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < 8_000) output += chunk.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);

    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`The embedded chain node exited early:\n${output}`);
      if (await this.answers()) {
        ready = true;
        child.stdout!.off('data', collect);
        child.stdout!.resume();
        child.stderr!.resume();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`The embedded chain node did not answer within ${readyTimeoutMs} ms:\n${output}`);
  }

  private async answers(): Promise<boolean> {
    try {
      const response = await fetch(this.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1_000),
      });
      return response.ok;
    } catch {
      return false;
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
