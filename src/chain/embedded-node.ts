import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

/** Something this process did not start holds the embedded node's port (a JSON-RPC node, if it told its chain id). */
export class EmbeddedNodePortBusyError extends Error {
  constructor(
    readonly port: number,
    readonly foundChainId: number | undefined,
  ) {
    super(
      `Port ${port} is held by ${foundChainId === undefined ? 'a program' : `a JSON-RPC node (chain id ${foundChainId})`} that this service did not start. ` +
        'It may be the orphan of a Chancery that was killed, or another program: stop it, or set CHAIN_EMBEDDED_PORT ' +
        'to a free port (or CHAIN_RPC_URL to use an external node). A node we did not start is never adopted: ' +
        'we could neither restart it nor trust its state.',
    );
    this.name = 'EmbeddedNodePortBusyError';
  }
}

/**
 * Runs in the child: the hardhat CLI in-process, plus a tie to the parent. Our stdin is a pipe from
 * the service; when the service dies in any way (even SIGKILL) the pipe closes and the node exits, so
 * no orphan is left holding the port.
 */
const CHILD_SCRIPT = [
  "process.stdin.on('end', () => process.exit(0));",
  "process.stdin.on('error', () => process.exit(0));",
  'process.stdin.resume();',
  // With -e, argv is [node, cli, 'node', …]: exactly what the hardhat CLI reads from slice(2).
  'require(process.argv[1]);',
].join('\n');

/** The line hardhat prints once its own server listens; readiness requires it from our child. */
const LISTENING = /Started HTTP and WebSocket JSON-RPC server at/;

/** How the embedded node is started; the child must get a stdin pipe from its parent (the tie). */
export function embeddedNodeCommand(
  port: number,
  chainId: number,
  initialDate?: Date,
): { command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv } {
  const root = projectRoot();
  const cli = createRequire(join(root, 'package.json')).resolve('hardhat/internal/cli/cli.js');
  return {
    command: process.execPath,
    args: [
      '-e',
      CHILD_SCRIPT,
      cli,
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      String(port),
      '--config',
      join(root, 'docker/chain/hardhat.config.cjs'),
    ],
    cwd: join(root, 'docker/chain'),
    env: {
      // The child inherits our environment (PATH, proxies); it is not configuration we read.
      // eslint-disable-next-line no-restricted-properties
      ...process.env,
      CHAIN_ID: String(chainId),
      HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
      NODE_OPTIONS: '',
      CHAIN_INITIAL_DATE: initialDate?.toISOString() ?? '',
    },
  };
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
    const node = await EmbeddedChainNode.prepare(options);
    await node.launch(options.readyTimeoutMs);
    return node;
  }

  /** The node of these options (its port chosen), not started yet: see launch. */
  static async prepare(options: Omit<EmbeddedNodeOptions, 'readyTimeoutMs'>): Promise<EmbeddedChainNode> {
    const port = options.port === 0 ? await freePort() : options.port;
    return new EmbeddedChainNode(`http://127.0.0.1:${port}`, port, options.chainId);
  }

  /** Starts a prepared node and resolves once it answers; refuses a node on its port that it did not start. */
  async launch(readyTimeoutMs = 60_000): Promise<void> {
    await this.refuseForeignNode();
    await this.spawn(readyTimeoutMs);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Called when the node dies without stop() having been asked for (a crash, or kill() in tests). */
  onCrash(listener: () => void): void {
    this.crashListeners.push(listener);
  }

  /**
   * Starts the node again on the same port: a fresh, empty chain; its genesis at `initialDate` when given
   * (a journal replay starts before the first journaled block).
   */
  async restart(readyTimeoutMs = 60_000, initialDate?: Date): Promise<void> {
    await this.stop();
    await this.refuseForeignNode();
    await this.spawn(readyTimeoutMs, initialDate);
  }

  /** Child's process id while it runs (tests check that it dies with us). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /**
   * Throws EmbeddedNodePortBusyError if something holds our port while we run none. Whether the port is taken
   * is decided by binding it, not by timing an answer (a busy host could make a live orphan miss a deadline);
   * the chain id, asked for only then, just makes the message precise.
   */
  private async refuseForeignNode(): Promise<void> {
    if (this.running || (await listenable(this.port)) !== undefined) return;
    throw new EmbeddedNodePortBusyError(this.port, await this.probe(10_000));
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

  private async spawn(readyTimeoutMs: number, initialDate?: Date): Promise<void> {
    const command = embeddedNodeCommand(this.port, this.chainId, initialDate);
    const child = spawn(command.command, command.args, {
      cwd: command.cwd,
      env: command.env,
      // stdin is the tie to us (see CHILD_SCRIPT); we never write to it.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
    let listening = false;
    const collect = (chunk: Buffer) => {
      if (output.length < 8_000) output += chunk.toString();
      if (LISTENING.test(output)) listening = true;
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);

    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`The embedded chain node exited early:\n${output}`);
      }
      // Only our own child's server counts: it must say it listens, then answer with our chain id.
      if (listening && (await this.probe()) === this.chainId) {
        ready = true;
        child.stdout!.off('data', collect);
        child.stdout!.resume();
        child.stderr!.resume();
        return;
      }
      // Short: until the node says it listens this looks only at its output, no request is made.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    throw new Error(`The embedded chain node did not answer within ${readyTimeoutMs} ms:\n${output}`);
  }

  /** The chain id a node on our port answers eth_chainId with (undefined: no answer, or not a chain id). */
  private async probe(timeoutMs = 1_000): Promise<number | undefined> {
    try {
      const response = await fetch(this.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await response.json().catch(() => undefined)) as { result?: unknown } | undefined;
      return typeof body?.result === 'string' && /^0x[0-9a-f]{1,16}$/i.test(body.result)
        ? Number.parseInt(body.result, 16)
        : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The lowest local port the kernel hands to outgoing connections (Linux); elsewhere IANA's dynamic range. */
function lowestEphemeralPort(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux: the default below
  }
  return 49_152;
}

/** Whether 127.0.0.1:`port` can be listened on now (0: any port; the one the kernel chose is returned). */
export function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const chosen = (server.address() as { port: number }).port;
      server.close(() => resolve(chosen));
    });
  });
}

/**
 * Picked ports lie from here up to just below the ephemeral range, which outgoing connections draw from. The
 * lower bound is above 10080, the highest of the ports the Fetch standard blocks: Node's fetch and browsers
 * refuse to connect to them ("bad port"), so a service there could not be reached by either.
 */
export const LOWEST_PICKED_PORT = 10_081;

/**
 * A port free now, picked below the kernel's ephemeral range. The caller listens on it later (an app
 * starts its chain node and database first: seconds); a port from the ephemeral range could meanwhile be
 * given to one of the machine's outgoing connections as its local port, and the listen would fail with
 * EADDRINUSE. Falls back to a port the kernel chooses when no such range is left.
 */
export async function freePort(): Promise<number> {
  const highest = lowestEphemeralPort() - 1;
  for (let attempt = 0; highest - LOWEST_PICKED_PORT >= 1000 && attempt < 64; attempt++) {
    const port = randomInt(LOWEST_PICKED_PORT, highest + 1);
    if ((await listenable(port)) !== undefined) return port;
  }
  const chosen = await listenable(0);
  if (chosen === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return chosen;
}
