import { createHash } from 'node:crypto';
import {
  canonicalJson,
  entryHash,
  firstChainBreak,
  GENESIS_HASH,
  nextEntry,
  nextStoredEntry,
  type AuditEntryRecord,
} from './hash-chain.js';

const event = (n: number) => ({
  at: `2026-12-02T10:00:0${n % 10}.000Z`,
  kind: 'credential.issued',
  actor: `agency:${n}`,
  subject: `credential:${n}`,
  data: { digest: 'ab'.repeat(32), n },
});

function chain(length: number): AuditEntryRecord[] {
  const entries: AuditEntryRecord[] = [];
  for (let n = 0; n < length; n++) entries.push(nextEntry(entries.at(-1), event(n)));
  return entries;
}

describe('canonical encoding', () => {
  it('sorts keys at every depth, drops undefined members and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: undefined, b: 'é' } })).toBe(
      '{"a":{"b":"é","d":[true,null,"x"]},"b":1}',
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('refuses values that have no single encoding', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('non-finite');
    expect(() => canonicalJson({ a: () => 1 })).toThrow('function');
    expect(() => canonicalJson(10n)).toThrow('bigint');
  });
});

describe('hash chain', () => {
  it('hashes a domain tag and the canonical entry, prevHash included (pinned vector)', () => {
    const first = nextEntry(undefined, { at: '2026-12-02T10:00:00.000Z', kind: 'k', actor: 'a', subject: 's', data: { x: 1 } });
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    const expected = createHash('sha256')
      .update(
        'chancery-audit-v1\n' +
          `{"actor":"a","at":"2026-12-02T10:00:00.000Z","data":{"x":1},"kind":"k","prevHash":"${GENESIS_HASH}","seq":1,"subject":"s"}`,
      )
      .digest('hex');
    expect(first.entryHash).toBe(expected);
    expect(entryHash({ ...first, prevHash: 'f'.repeat(64) })).not.toBe(expected);
    expect(entryHash({ ...first, seq: 2 })).not.toBe(expected);
  });

  it('links each entry to the one before', () => {
    const entries = chain(5);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.entryHash);
    expect(firstChainBreak(entries)).toBeUndefined();
    expect(firstChainBreak([])).toBeUndefined();
  });

  it('locates an edited entry', () => {
    const entries = chain(6);
    entries[3] = { ...entries[3]!, data: { ...entries[3]!.data, n: 99 } };
    expect(firstChainBreak(entries)).toEqual({ seq: 4, problem: 'altered' });
  });

  it('locates an edited entry whose hash was recomputed: the next entry no longer links', () => {
    const entries = chain(6);
    const edited = { ...entries[2]!, actor: 'someone-else' };
    entries[2] = { ...edited, entryHash: entryHash(edited) };
    expect(firstChainBreak(entries)).toEqual({ seq: 4, problem: 'unlinked' });
  });

  it('locates a deleted entry', () => {
    const entries = chain(6);
    entries.splice(2, 1);
    expect(firstChainBreak(entries)).toEqual({ seq: 3, problem: 'missing', found: 4 });
  });

  it('locates two entries that swapped places', () => {
    const entries = chain(6);
    const [third, fourth] = [entries[2]!, entries[3]!];
    entries[2] = { ...fourth, seq: 3 };
    entries[3] = { ...third, seq: 4 };
    expect(firstChainBreak(entries)).toEqual({ seq: 3, problem: 'reordered' });
  });
});

describe('nextStoredEntry (the append path)', () => {
  it('hashes exactly what nextEntry hashes and stores the canonical data', () => {
    const events: Omit<AuditEntryRecord, 'seq' | 'prevHash' | 'entryHash'>[] = [
      { at: '2026-12-03T04:00:00.000Z', kind: 'credential.issued', actor: 'agency:1', subject: 'credential:a', data: {} },
      {
        at: '2026-12-03T04:00:00.001Z',
        kind: 'presentation.verdict',
        actor: 'relying-party:"银行"\n',
        subject: 'presentation:\u2028x',
        data: { z: [1, 2.5, null, true], a: { é: 'ü', b: 'quote " and \\' }, n: -0, big: 1e21 },
      },
    ];
    let prev: AuditEntryRecord | undefined;
    for (const event of events) {
      const expected = nextEntry(prev, event);
      const stored = nextStoredEntry(prev, event, canonicalJson(event.data));
      expect(stored).toEqual({ ...expected, data: canonicalJson(expected.data) });
      expect(stored.entryHash).toBe(entryHash({ ...stored, data: JSON.parse(stored.data) }));
      prev = expected;
    }
  });
});
