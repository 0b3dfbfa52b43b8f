import type { JsonWebKey } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** A status list version whose signature was verified, with its decompressed list once it was read. */
export interface VerifiedList {
  /** sha256 (hex) of the served bytes: the memo key, and what the chain anchor holds. */
  digest: string;
  issuer: string;
  kid: string;
  /** The key the signature was verified with: a changed key (rotation, revocation) means verifying again. */
  jwk: JsonWebKey;
  payload: Record<string, unknown>;
  /** Decompressed list bytes, filled on first read (`StatusListMemo.inflated`). */
  inflated?: Buffer;
  /** Length of the served JWT: what the decoded payload costs, about. */
  servedBytes: number;
}

/** Lists remembered (one version each); an issuer publishes few lists, a verifier meets few issuers. */
const MEMO_MAX_LISTS = 1_000;
/** And their size: a list of the minimum 131,072 entries inflates to 16–32 KB, an issuer may publish far larger ones. */
const MEMO_MAX_BYTES = 256 * 1024 * 1024;

const sameKey = (a: JsonWebKey, b: JsonWebKey) => a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;

/**
 * Remembers, per status list URL, the last version verified: its digest, verified payload and inflated
 * bytes. A verification that is served the same bytes again costs a hash instead of a signature check
 * and a 16–32 KB inflate; a new version (other bytes, other digest) is verified afresh and replaces it.
 */
export class StatusListMemo {
  private readonly lists: LRUCache<string, VerifiedList>;

  constructor({ maxLists = MEMO_MAX_LISTS, maxBytes = MEMO_MAX_BYTES }: { maxLists?: number; maxBytes?: number } = {}) {
    this.lists = new LRUCache({
      max: maxLists,
      maxSize: maxBytes,
      sizeCalculation: (list) => 1024 + 2 * list.servedBytes + (list.inflated?.length ?? 0),
    });
  }

  /** The remembered version of `url` when it is exactly these bytes, signed by this issuer with this key. */
  get(url: string, digest: string, issuer: string, kid: string, jwk: JsonWebKey): VerifiedList | undefined {
    const known = this.lists.get(url);
    if (!known || known.digest !== digest || known.issuer !== issuer || known.kid !== kid || !sameKey(known.jwk, jwk))
      return undefined;
    return known;
  }

  /** Remembers a verified version; it replaces the URL's older one. */
  set(url: string, list: VerifiedList): void {
    this.lists.set(url, list);
  }

  /**
   * The list's decompressed bytes, inflated on first use; the remembered entry is weighed again with them
   * (it was weighed without them when it was set).
   */
  inflated(url: string, list: VerifiedList, inflate: () => Buffer): Buffer {
    if (list.inflated) return list.inflated;
    list.inflated = inflate();
    if (this.lists.peek(url) === list) {
      // lru-cache weighs a value when it is set, and not again when the same value is set over itself.
      this.lists.delete(url);
      this.lists.set(url, list);
    }
    return list.inflated;
  }

  /** The digest of the version remembered for `url`, if any. */
  digestOf(url: string): string | undefined {
    return this.lists.peek(url)?.digest;
  }

  get size(): number {
    return this.lists.size;
  }
}
