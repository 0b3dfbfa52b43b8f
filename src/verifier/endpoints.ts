import { publicBaseUrl, type AppConfig } from '../config/index.js';
import type { VerifierEndpoints } from '../oid4vp/index.js';

/** Where wallets and relying parties reach the verifier: every URL the OID4VP side hands out. */
export interface Oid4vpEndpoints extends VerifierEndpoints {
  base: string;
  requestUri(requestId: string): string;
  deskUrl(requestId: string, viewToken: string): string;
}

export function oid4vpEndpoints(config: AppConfig): Oid4vpEndpoints {
  const base = publicBaseUrl(config);
  return {
    base,
    responseUri: `${base}/oid4vp/response`,
    publicHost: new URL(base).hostname,
    requestUri: (requestId) => `${base}/oid4vp/requests/${requestId}`,
    deskUrl: (requestId, viewToken) => `${base}/rp/desk/${requestId}?view=${viewToken}`,
  };
}
