import { auditRangeTree } from '../chain/index.js';
import { entryHash, nextEntry, type AuditEntryRecord } from './hash-chain.js';
import { checkTrail, type OnChainAnchor } from './trail-check.js';

function chain(length: number): AuditEntryRecord[] {
  const entries: AuditEntryRecord[] = [];
  for (let n = 0; n < length; n++)
    entries.push(
      nextEntry(entries.at(-1), { at: '2026-12-02T10:00:00.000Z', kind: 'k', actor: `a${n}`, subject: 's', data: {} }),
    );
  return entries;
}

const anchorOf = (entries: AuditEntryRecord[], index: number, fromSeq: number, toSeq: number): OnChainAnchor => ({
  index,
  fromSeq,
  toSeq,
  root: auditRangeTree(entries.slice(fromSeq - 1, toSeq).map((e) => ({ seq: e.seq, entryHash: '0x' + e.entryHash }))).root,
});

describe('checkTrail', () => {
  const entries = chain(10);
  const head = { seq: 10, entryHash: entries[9]!.entryHash };
  const anchors = [anchorOf(entries, 0, 1, 6), anchorOf(entries, 1, 7, 9)];

  it('passes an intact trail and reports how far it is anchored', () => {
    const report = checkTrail(entries, head, anchors);
    expect(report).toEqual(expect.objectContaining({ ok: true, entries: 10, anchoredThrough: 9 }));
    expect(report.anchors.map((anchor) => anchor.ok)).toEqual([true, true]);
  });

  it('finds a deleted tail through the head row', () => {
    expect(checkTrail(entries.slice(0, 9), head, anchors).firstBroken).toEqual(
      expect.objectContaining({ seq: 10, problem: 'missing' }),
    );
  });

  it('prefers the precise chain break to the range mismatch it explains', () => {
    const edited = entries.map((entry) => ({ ...entry }));
    edited.splice(3, 1);
    const report = checkTrail(edited, head, anchors);
    expect(report.firstBroken).toEqual(expect.objectContaining({ seq: 4, problem: 'missing' }));
    expect(report.anchors.map((anchor) => anchor.ok)).toEqual([false, true]);
  });

  it('finds a consistently recomputed chain by its anchored roots', () => {
    const rewritten: AuditEntryRecord[] = [];
    for (const entry of entries) {
      const content = {
        ...entry,
        actor: entry.seq === 8 ? 'x' : entry.actor,
        prevHash: rewritten.at(-1)?.entryHash ?? entry.prevHash,
      };
      rewritten.push({ ...content, entryHash: entryHash(content) });
    }
    const report = checkTrail(rewritten, { seq: 10, entryHash: rewritten[9]!.entryHash }, anchors);
    expect(report.firstBroken).toEqual(expect.objectContaining({ seq: 7, problem: 'anchor_mismatch' }));
    expect(report.anchors.map((anchor) => anchor.ok)).toEqual([true, false]);
  });
});
