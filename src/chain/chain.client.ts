import { FetchRequest, JsonRpcProvider } from 'ethers';

/** JSON-RPC access to the consortium chain. The only ethers provider in the service. */
export class ChainClient {
  readonly provider: JsonRpcProvider;

  constructor(
    readonly rpcUrl: string,
    readonly chainId: number,
    readonly networkName: string,
    pollMs: number,
  ) {
    const request = new FetchRequest(rpcUrl);
    // ethers waits 5 minutes by default; a down node must surface quickly so the outbox retries later.
    request.timeout = 10_000;
    // staticNetwork: no start-up probing; cacheTimeout -1: no 250 ms response cache, which hands out stale nonces.
    this.provider = new JsonRpcProvider(request, chainId, { staticNetwork: true, cacheTimeout: -1, polling: true });
    this.provider.pollingInterval = pollMs;
  }

  /** The latest block number, or an error if the node does not answer. */
  async blockNumber(): Promise<number> {
    return this.provider.getBlockNumber();
  }

  async hasCode(address: string): Promise<boolean> {
    return (await this.provider.getCode(address)) !== '0x';
  }

  destroy(): void {
    this.provider.destroy();
  }
}
