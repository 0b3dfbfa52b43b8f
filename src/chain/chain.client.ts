import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  FetchRequest,
  JsonRpcProvider,
  isError,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
  type TransactionReceipt,
} from 'ethers';

/**
 * The chain node cannot be reached: refused, reset, timed out or answering with a server error. Callers
 * map it to a 503 with `chainUnavailable()` from src/common; its message holds no library text.
 */
export class ChainUnavailableError extends Error {
  readonly code = 'CHAIN_UNAVAILABLE';

  constructor(readonly reason: string) {
    super(`The chain node cannot be reached (${reason})`);
    this.name = 'ChainUnavailableError';
  }
}

/** JSON-RPC methods that only read: safe to send again when the connection failed under them. */
const IDEMPOTENT_METHODS = new Set([
  'eth_blockNumber',
  'eth_chainId',
  'net_version',
  'eth_call',
  'eth_estimateGas',
  'eth_getCode',
  'eth_getBalance',
  'eth_getLogs',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getTransactionCount',
  'eth_getStorageAt',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
]);

/** Socket-level failures; the first four are what a keep-alive socket the node closed looks like. */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_SOCKET_CLOSED',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** Why a request failed if it is the connection (not the node's answer), else undefined. */
export function connectionFailure(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code.toLowerCase();
  if (error instanceof Error && /socket hang up/i.test(error.message)) return 'econnreset';
  if (isError(error, 'TIMEOUT')) return 'timeout';
  // A 5xx or a non-JSON answer from a proxy in front of the node; JSON-RPC errors are not thrown here.
  if (isError(error, 'SERVER_ERROR')) return 'server error';
  return undefined;
}

export interface ChainClientOptions {
  /** Per request; ethers waits 5 minutes by default, a down node must surface quickly. */
  timeoutMs?: number;
  /** Extra attempts for read-only requests whose connection failed (stale keep-alive socket, reset). */
  readRetries?: number;
}

/**
 * JSON-RPC over keep-alive connections; read-only requests are sent again when the socket under them
 * was closed by the node (ECONNRESET, socket hang up) or refused for a moment; every connection
 * failure surfaces as ChainUnavailableError. Writes (eth_sendRawTransaction) are never repeated here:
 * the outbox re-sends the stored bytes itself.
 */
class ResilientJsonRpcProvider extends JsonRpcProvider {
  constructor(
    request: FetchRequest,
    chainId: number,
    options: JsonRpcApiProviderOptions,
    private readonly readRetries: number,
    /** Whether this request must be refused: the chain is being rebuilt and the caller is not the rebuild. */
    private readonly refused: () => boolean,
  ) {
    super(request, chainId, options);
  }

  // `send`, not `_send`: it runs in the caller's async context (`_send` runs from ethers' batching timer).
  override async send(method: string, params: unknown[] | Record<string, unknown>): Promise<unknown> {
    if (this.refused()) throw new ChainUnavailableError('rebuilding');
    return super.send(method, params as never);
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const payloads = Array.isArray(payload) ? payload : [payload];
    const idempotent = payloads.every((p) => IDEMPOTENT_METHODS.has(p.method));
    for (let attempt = 0; ; attempt++) {
      try {
        return await super._send(payload);
      } catch (error) {
        const reason = connectionFailure(error);
        if (!reason) throw error;
        if (idempotent && reason !== 'timeout' && attempt < this.readRetries) {
          // A stale socket is replaced at once; a refused connection gets a moment to come back.
          if (attempt > 0 || reason === 'econnrefused') await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
          continue;
        }
        throw new ChainUnavailableError(reason);
      }
    }
  }
}

/** JSON-RPC access to the consortium chain. The only ethers provider in the service. */
export class ChainClient {
  readonly provider: JsonRpcProvider;
  private readonly agent: HttpAgent;
  /** Set while the chain's state is being rebuilt (see `rebuilding`); the rebuild's own requests carry it. */
  private readonly rebuild: { context: AsyncLocalStorage<true>; active: boolean } = {
    context: new AsyncLocalStorage(),
    active: false,
  };

  constructor(
    readonly rpcUrl: string,
    readonly chainId: number,
    readonly networkName: string,
    pollMs: number,
    options: ChainClientOptions = {},
  ) {
    const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 32, maxFreeSockets: 8 };
    this.agent = rpcUrl.startsWith('https:') ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    const request = new FetchRequest(rpcUrl);
    request.getUrlFunc = FetchRequest.createGetUrlFunc({ agent: this.agent });
    request.timeout = options.timeoutMs ?? 10_000;
    // staticNetwork: no start-up probing; cacheTimeout -1: no 250 ms response cache, which hands out stale nonces.
    this.provider = new ResilientJsonRpcProvider(
      request,
      chainId,
      { staticNetwork: true, cacheTimeout: -1, polling: true },
      options.readRetries ?? 2,
      () => this.rebuild.active && this.rebuild.context.getStore() === undefined,
    );
    this.provider.pollingInterval = pollMs;
  }

  /**
   * Runs `work` (restarting a node and replaying its journal) while every other request to the chain is
   * refused as unavailable (`rebuilding`): meanwhile the node answers with part of the state, and a read of it
   * would be believed (an authorisation not replayed yet reads as withdrawn, a DID as having no keys).
   */
  async rebuilding<T>(work: () => Promise<T>): Promise<T> {
    this.rebuild.active = true;
    try {
      return await this.rebuild.context.run(true, work);
    } finally {
      this.rebuild.active = false;
    }
  }

  /** Whether the chain's state is being rebuilt (every request but the rebuild's is refused). */
  get isRebuilding(): boolean {
    return this.rebuild.active;
  }

  /** The latest block number, or ChainUnavailableError if the node does not answer. */
  async blockNumber(): Promise<number> {
    return this.provider.getBlockNumber();
  }

  /**
   * The receipt of a transaction once it is mined, or null after `timeoutMs`. Replaces ethers'
   * waitForTransaction, which leaves an unhandled rejection behind when the node cannot be reached
   * (its executor awaits getBlockNumber outside any catch) and hides later failures; here a node that
   * is down surfaces as ChainUnavailableError to the caller.
   */
  async waitForReceipt(txHash: string, timeoutMs: number): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    // Short first waits (an automining node has it at once), then the chain poll period.
    for (let waitMs = 25; ; waitMs = Math.min(waitMs * 2, this.provider.pollingInterval)) {
      const receipt = await this.provider.getTransactionReceipt(txHash);
      if (receipt) return receipt;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, left)));
    }
  }

  /**
   * What is wrong with the node's chain, or undefined: every transaction we sign names CHAIN_ID (EIP-155) and
   * would be refused on another chain, and a contract address read there would mean another contract.
   */
  async chainIdProblem(): Promise<string | undefined> {
    const answered: unknown = await this.provider.send('eth_chainId', []);
    // A hex quantity as JSON-RPC says; some nodes answer a plain number.
    const id =
      typeof answered === 'string' && /^0x[0-9a-f]{1,16}$/i.test(answered)
        ? Number(BigInt(answered))
        : typeof answered === 'number' && Number.isSafeInteger(answered)
          ? answered
          : undefined;
    if (id === this.chainId) return undefined;
    return id === undefined
      ? 'the chain node answered eth_chainId with no chain id'
      : `the chain node is on chain ${id}, not CHAIN_ID ${this.chainId}`;
  }

  /**
   * Sends a signed transaction's bytes (eth_sendRawTransaction) and returns the hash the node answers. Not ethers'
   * broadcastTransaction, which decodes the whole transaction again to build a response we never use (a deployment's
   * contract code hex-parsed byte by byte: ~0.5 s of CPU per fresh chain's bootstrap) and asks for the block number
   * and network besides. Node errors are mapped as ethers maps them (NONCE_EXPIRED for "nonce too low").
   */
  async sendRawTransaction(rawTx: string): Promise<string> {
    return (await this.provider.send('eth_sendRawTransaction', [rawTx])) as string;
  }

  async hasCode(address: string): Promise<boolean> {
    return (await this.provider.getCode(address)) !== '0x';
  }

  destroy(): void {
    this.provider.destroy();
    this.agent.destroy();
  }
}
