import { hash } from 'node:crypto';

/**
 * The audit log's hash chain (ADR 16): each entry commits to the previous entry's hash, so an edited,
 * deleted, inserted or re-ordered row breaks the chain from that point on. Pure functions, no I/O.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The hash the first entry commits to. */
export const GENESIS_HASH = '0'.repeat(64);

/** Domain separation: a version tag hashed before every entry. */
const DOMAIN = 'chancery-audit-v1\n';

/** What an entry holds; `entryHash` is computed over all of it, `prevHash` included. */
export interface AuditEntryContent {
  seq: number;
  /** ISO 8601 with milliseconds, stored as written (no database round-trip of a timestamp type). */
  at: string;
  kind: string;
  actor: string;
  subject: string;
  data: { [key: string]: JsonValue };
  prevHash: string;
}

export interface AuditEntryRecord extends AuditEntryContent {
  entryHash: string;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (as RFC 8785), no whitespace, strings and
 * numbers as JSON.stringify writes them. Refuses what has no single encoding (non-finite numbers,
 * undefined, functions), so two implementations cannot disagree about a stored entry.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('Canonical JSON has no encoding for a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  throw new Error(`Canonical JSON has no encoding for a ${typeof value}`);
}

/** SHA-256 (hex) over the domain tag and the canonical encoding of the whole entry, prevHash included. */
export function entryHash(content: AuditEntryContent): string {
  const { seq, at, kind, actor, subject, data, prevHash } = content;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`Audit sequence numbers start at 1: ${seq}`);
  return hash('sha256', DOMAIN + canonicalJson({ seq, at, kind, actor, subject, data, prevHash }), 'hex');
}

/**
 * The stored form of the entry after `prev` (`data` as its canonical JSON), for appends: the same bytes
 * are hashed as `entryHash` hashes (keys in canonical order, the data's canonical JSON spliced in), but
 * the data is encoded once instead of three times.
 */
export function nextStoredEntry(
  prev: { seq: number; entryHash: string } | undefined,
  event: Omit<AuditEntryContent, 'seq' | 'prevHash' | 'data'>,
  dataJson: string,
): Omit<AuditEntryRecord, 'data'> & { data: string } {
  const seq = (prev?.seq ?? 0) + 1;
  const prevHash = prev?.entryHash ?? GENESIS_HASH;
  const { at, kind, actor, subject } = event;
  const s = JSON.stringify;
  const canonical = `{"actor":${s(actor)},"at":${s(at)},"data":${dataJson},"kind":${s(kind)},"prevHash":${s(prevHash)},"seq":${s(seq)},"subject":${s(subject)}}`;
  // One-shot hash: no Hash object, whose native handle a scavenge would have to release.
  const digest = hash('sha256', DOMAIN + canonical, 'hex');
  return { seq, at, kind, actor, subject, data: dataJson, prevHash, entryHash: digest };
}

/** The entry that follows `prev` (or the first one when prev is undefined). */
export function nextEntry(
  prev: { seq: number; entryHash: string } | undefined,
  event: Omit<AuditEntryContent, 'seq' | 'prevHash'>,
): AuditEntryRecord {
  const content = { ...event, seq: (prev?.seq ?? 0) + 1, prevHash: prev?.entryHash ?? GENESIS_HASH };
  return { ...content, entryHash: entryHash(content) };
}

export type ChainBreak =
  /** An entry is missing: the sequence jumps from seq - 1 (or the start) to a later number. */
  | { seq: number; problem: 'missing'; found: number }
  /** The entry's content no longer matches its own hash (edited). */
  | { seq: number; problem: 'altered' }
  /** The entry sits at another place than the one it was written at (its prevHash names a later entry). */
  | { seq: number; problem: 'reordered' }
  /** The entry does not commit to its predecessor's hash (the predecessor was replaced, or hashes recomputed). */
  | { seq: number; problem: 'unlinked' };

/**
 * Walks the chain in sequence order and returns the first break, or undefined when every entry is
 * intact and linked to the one before. `entries` must be sorted by seq (as read with ORDER BY seq).
 */
export function firstChainBreak(entries: readonly AuditEntryRecord[]): ChainBreak | undefined {
  let prevHash = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const expected = index + 1;
    if (entry.seq !== expected) return { seq: expected, problem: 'missing', found: entry.seq };
    if (entryHash(entry) !== entry.entryHash) {
      // A row moved to another seq still links to the entry that preceded it where it was written.
      const moved = entry.prevHash !== prevHash && entries.slice(index + 1).some((later) => later.entryHash === entry.prevHash);
      return { seq: entry.seq, problem: moved ? 'reordered' : 'altered' };
    }
    if (entry.prevHash !== prevHash) return { seq: entry.seq, problem: 'unlinked' };
    prevHash = entry.entryHash;
  }
  return undefined;
}
