// The W3C bitstring decoder ships no types; the tests use this much of it.
declare module '@digitalbazaar/vc-bitstring-status-list' {
  export interface BitstringStatusList {
    getStatus(index: number): boolean;
    setStatus(index: number, status: boolean): void;
    encode(): Promise<string>;
  }
  export function decodeList(options: { encodedList: string }): Promise<BitstringStatusList>;
  export function createList(options: { length: number }): Promise<BitstringStatusList>;
  export function checkStatus(
    options: Record<string, unknown>,
  ): Promise<{ verified: boolean; error?: unknown; results?: { credentialStatus: Record<string, unknown>; status: boolean }[] }>;
}
