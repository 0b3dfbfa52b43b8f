// @peculiar/x509 resolves its services through tsyringe, which needs the reflect polyfill loaded first.
import 'reflect-metadata';
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
} from '@peculiar/x509';

/**
 * The verifier's trust policy beside the on-chain trusted-issuer registry: issuers named by DID (did:key,
 * did:jwk, did:web) and X.509 roots for credentials that carry an `x5c` chain. Pure: `now` is passed in.
 */
export type TrustAnchor = { kind: 'did'; did: string } | { kind: 'x509'; certificate: X509Certificate; label: string };

/** Who vouches for an issuer: a label for the report, and (for x5c) the leaf key that must have signed. */
export interface IssuerTrust {
  trustedBy: string;
  jwk?: JsonWebKey;
  /**
   * An agency's did:key (ADR 40): the did:ethr whose registry authorisation decides, per catalogue type, what it
   * may issue (an anchor may issue any VCDM type; an agency only what the consortium authorised).
   */
  registryDid?: string;
}

export class TrustAnchorError extends Error {}

/** Parses TRUST_ANCHORS entries: DIDs as they are, X.509 roots as PEM (one or more certificates). */
export function parseTrustAnchors(dids: readonly string[], pems: readonly string[]): TrustAnchor[] {
  const anchors: TrustAnchor[] = [];
  for (const did of dids) {
    if (!/^did:(key|jwk|web):[A-Za-z0-9._:%-]+$/.test(did))
      throw new TrustAnchorError(`${did.slice(0, 80)} is not a did:key, did:jwk or did:web`);
    anchors.push({ kind: 'did', did });
  }
  for (const pem of pems) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new TrustAnchorError('an X.509 trust anchor holds no PEM certificate');
    for (const block of blocks) {
      const certificate = new X509Certificate(block);
      const basic = certificate.getExtension(BasicConstraintsExtension);
      if (basic && !basic.ca) throw new TrustAnchorError(`X.509 anchor ${certificate.subject} is not a CA certificate`);
      const fingerprint = createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex');
      anchors.push({ kind: 'x509', certificate, label: `x509:${certificate.subject}/sha256:${fingerprint.slice(0, 16)}` });
    }
  }
  return anchors;
}

const x509Problem = (reason: string) => ({ reason: `x5c: ${reason}` });

/** The public JWK of a certificate's key (EC P-256/P-384 or Ed25519). */
function certificateJwk(certificate: X509Certificate): JsonWebKey {
  const { kty, crv, x, y } = createPublicKey({
    key: Buffer.from(certificate.publicKey.rawData),
    format: 'der',
    type: 'spki',
  }).export({
    format: 'jwk',
  });
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
}

/** Whether the leaf certificate names `issuer` (a SAN URI equal to it, or for an https issuer its DNS name). */
function namesIssuer(leaf: X509Certificate, issuer: string): boolean {
  const names = leaf.getExtension(SubjectAlternativeNameExtension)?.names.items ?? [];
  let host: string | undefined;
  try {
    host = issuer.startsWith('https://') ? new URL(issuer).hostname : undefined;
  } catch {
    host = undefined;
  }
  return names.some(
    (name) =>
      (name.type === 'url' && name.value === issuer) || (host !== undefined && name.type === 'dns' && name.value === host),
  );
}

/**
 * Validates an `x5c` chain (leaf first, base64 DER) up to a configured root: every signature, every
 * validity period at `now`, CA certificates with basicConstraints cA and keyCertSign, a leaf allowed to
 * sign (digitalSignature) that names the issuer. Answers the root's label and the leaf key.
 */
export async function trustX5c(
  x5c: unknown,
  issuer: string,
  anchors: readonly TrustAnchor[],
  now: Date,
): Promise<IssuerTrust | { reason: string }> {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 5 || !x5c.every((c) => typeof c === 'string'))
    return x509Problem('must be an array of 1 to 5 base64 certificates');
  const roots = anchors.filter((a): a is Extract<TrustAnchor, { kind: 'x509' }> => a.kind === 'x509');
  if (roots.length === 0) return x509Problem('no X.509 trust anchor is configured');
  let chain: X509Certificate[];
  try {
    chain = (x5c as string[]).map((der) => new X509Certificate(Buffer.from(der, 'base64')));
  } catch {
    return x509Problem('a certificate does not parse');
  }
  for (const [index, certificate] of chain.entries()) {
    if (certificate.notBefore > now || certificate.notAfter < now) return x509Problem(`certificate ${index} is not valid now`);
    const usage = certificate.getExtension(KeyUsagesExtension)?.usages;
    if (index === 0) {
      if (usage !== undefined && !(usage & KeyUsageFlags.digitalSignature))
        return x509Problem('the leaf may not sign (keyUsage)');
    } else {
      if (!certificate.getExtension(BasicConstraintsExtension)?.ca) return x509Problem(`certificate ${index} is not a CA`);
      if (usage !== undefined && !(usage & KeyUsageFlags.keyCertSign))
        return x509Problem(`certificate ${index} may not sign certificates`);
    }
    const next = chain[index + 1];
    if (next && !(await certificate.verify({ publicKey: next.publicKey, signatureOnly: true })))
      return x509Problem(`certificate ${index} is not signed by certificate ${index + 1}`);
  }
  const top = chain[chain.length - 1]!;
  let anchor: (typeof roots)[number] | undefined;
  for (const root of roots) {
    const same = Buffer.from(root.certificate.rawData).equals(Buffer.from(top.rawData));
    if (
      same ||
      (top.issuer === root.certificate.subject &&
        (await top.verify({ publicKey: root.certificate.publicKey, signatureOnly: true })))
    ) {
      anchor = root;
      break;
    }
  }
  if (!anchor) return x509Problem('the chain does not lead to a trusted root');
  if (anchor.certificate.notBefore > now || anchor.certificate.notAfter < now)
    return x509Problem('the trusted root is not valid now');
  if (!namesIssuer(chain[0]!, issuer)) return x509Problem('the leaf certificate does not name the issuer (subjectAltName)');
  try {
    return { trustedBy: anchor.label, jwk: certificateJwk(chain[0]!) };
  } catch {
    return x509Problem('the leaf key is not supported');
  }
}

/** The anchor that names `issuer` by DID, if any. */
export function didAnchorFor(issuer: string, anchors: readonly TrustAnchor[]): IssuerTrust | undefined {
  const anchor = anchors.find((a) => a.kind === 'did' && a.did === issuer);
  return anchor ? { trustedBy: issuer } : undefined;
}
