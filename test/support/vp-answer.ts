import type { HeldCredential, wallet } from './wallet.js';

type Wallet = ReturnType<typeof wallet>;

/**
 * An OID4VP answer whose vp_token the test shapes itself (a misbehaving wallet), built and submitted by the
 * test wallet's @openid4vc/openid4vp client. `shape` gets one fresh presentation of each held credential
 * (disclosing the claims the first credential query names) and the query ids, and returns the vp_token.
 */
export async function answerWithVpToken(
  citizen: Wallet,
  link: string,
  held: HeldCredential[],
  shape: (presentations: string[], queryIds: string[]) => Record<string, string[]>,
) {
  const resolved = await citizen.resolveRequest(link);
  const presentations: string[] = [];
  for (const credential of held) presentations.push(await citizen.present(credential, resolved));
  const vpToken = shape(
    presentations,
    resolved.query.credentials.map((credential) => credential.id),
  );
  const { status, body } = await citizen.submit(resolved, vpToken);
  return { status, body };
}
