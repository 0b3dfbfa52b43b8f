import { auditRangeTree } from '../chain/index.js';
import { firstChainBreak, type AuditEntryRecord } from './hash-chain.js';

/** One anchor as the AuditAnchor contract holds it (read from the chain, not from our database). */
export interface OnChainAnchor {
  index: number;
  fromSeq: number;
  toSeq: number;
  root: string;
}

export type TrailBreak =
  | { seq: number; problem: 'missing' | 'altered' | 'reordered' | 'unlinked'; detail: string }
  /** The stored entries of an anchored range no longer give the root on chain (e.g. hashes recomputed). */
  | { seq: number; problem: 'anchor_mismatch'; detail: string; anchor: OnChainAnchor };

export interface TrailReport {
  ok: boolean;
  entries: number;
  /** The last entry whose range is anchored on chain (0: none). */
  anchoredThrough: number;
  anchors: (OnChainAnchor & { ok: boolean })[];
  firstBroken?: TrailBreak;
}

const DETAIL = {
  missing: 'an entry is missing (deleted)',
  altered: 'the entry does not match its own hash (edited)',
  reordered: 'the entry was written at another place in the log (re-ordered)',
  unlinked: 'the entry does not commit to the hash of the entry before it (that entry was replaced)',
} as const;

/**
 * Checks a whole audit log: the hash chain from the first entry, the head row (so a deleted tail shows),
 * and every range anchored on chain against the Merkle root of the stored entries. Reports the first
 * broken entry: the lowest sequence number at which any check fails.
 */
export function checkTrail(
  entries: readonly AuditEntryRecord[],
  head: { seq: number; entryHash: string } | undefined,
  anchors: readonly OnChainAnchor[],
): TrailReport {
  const breaks: TrailBreak[] = [];
  const chainBreak = firstChainBreak(entries);
  if (chainBreak) {
    const found = chainBreak.problem === 'missing' ? ` (next stored entry is ${chainBreak.found})` : '';
    breaks.push({ seq: chainBreak.seq, problem: chainBreak.problem, detail: DETAIL[chainBreak.problem] + found });
  }
  const last = entries.at(-1);
  if (head && head.seq > (last?.seq ?? 0)) {
    breaks.push({ seq: (last?.seq ?? 0) + 1, problem: 'missing', detail: `the log ends before its head (${head.seq})` });
  } else if (head && last && head.seq === last.seq && head.entryHash !== last.entryHash) {
    breaks.push({ seq: last.seq, problem: 'unlinked', detail: 'the last entry is not the one the head row names' });
  }
  const bySeq = new Map(entries.map((entry) => [entry.seq, entry]));
  /** Where each break is known to lie at the latest: a mismatched complete range only somewhere in it. */
  const lastPossible = new Map<TrailBreak, number>(breaks.map((found) => [found, found.seq]));
  const checked = anchors.map((anchor) => {
    const range: AuditEntryRecord[] = [];
    let firstMissing: number | undefined;
    for (let seq = anchor.fromSeq; seq <= anchor.toSeq; seq++) {
      const entry = bySeq.get(seq);
      if (entry) range.push(entry);
      else firstMissing ??= seq;
    }
    const root =
      firstMissing === undefined
        ? auditRangeTree(range.map((entry) => ({ seq: entry.seq, entryHash: '0x' + entry.entryHash }))).root
        : undefined;
    const ok = root === anchor.root.toLowerCase();
    if (!ok) {
      const found: TrailBreak =
        firstMissing === undefined
          ? {
              seq: anchor.fromSeq,
              problem: 'anchor_mismatch',
              detail: `the stored entries ${anchor.fromSeq}..${anchor.toSeq} do not give the root anchored on chain`,
              anchor,
            }
          : {
              seq: firstMissing,
              problem: 'anchor_mismatch',
              detail: `entry ${firstMissing} of the anchored range ${anchor.fromSeq}..${anchor.toSeq} is missing`,
              anchor,
            };
      breaks.push(found);
      lastPossible.set(found, firstMissing ?? anchor.toSeq);
    }
    return { ...anchor, ok };
  });
  // A precise break (the hash chain) wins over a range mismatch it explains.
  const firstBroken = breaks.sort((a, b) => lastPossible.get(a)! - lastPossible.get(b)! || a.seq - b.seq)[0];
  return {
    ok: !firstBroken,
    entries: entries.length,
    anchoredThrough: anchors.at(-1)?.toSeq ?? 0,
    anchors: checked,
    ...(firstBroken ? { firstBroken } : {}),
  };
}
