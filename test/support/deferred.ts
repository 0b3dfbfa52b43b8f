import { decodeProtectedHeader } from 'jose';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest } from '@sd-jwt/crypto-nodejs';
import { eventually, independentResolver, type TestApp } from './test-app.js';

/** What a wallet's deferred credential request answers (the @openid4vc client's result, as far as read here). */
interface DeferredPoll {
  response: { status: number };
  deferredCredentialResponse?: { credentials?: unknown[] };
}

/** Polls the deferred credential endpoint until it answers 200, and returns the credentials it delivers. */
export async function deferredCredentials(poll: () => Promise<DeferredPoll>): Promise<string[]> {
  const delivered = await eventually(
    async () => {
      const result = await poll();
      return result.response.status === 200 ? result.deferredCredentialResponse : undefined;
    },
    60_000,
    200,
  );
  return (delivered.credentials ?? []).map((entry) => (entry as { credential: string }).credential);
}

/**
 * Verifies an SD-JWT VC as an outsider would: @sd-jwt/sd-jwt-vc with the issuer key that ethr-did-resolver
 * reads from the chain (none of our code). Returns the verified payload.
 */
export async function verifiedIndependently(app: TestApp, credential: string): Promise<Record<string, unknown>> {
  const independent = await independentResolver(app);
  try {
    const issuerJwk = await independent.issuerJwk(decodeProtectedHeader(credential.split('~')[0]!).kid!);
    const verified = await new SDJwtVcInstance({ hasher: digest, verifier: await ES256.getVerifier(issuerJwk) }).verify(
      credential,
    );
    return verified.payload as Record<string, unknown>;
  } finally {
    independent.close();
  }
}
