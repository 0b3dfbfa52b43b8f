import type { ChangeEvent, ChangeFeed } from './change-feed.js';
import { RememberedRows } from './remembered-rows.js';

/** A feed driven by the test: what it vouches for and which changes it reports. */
class ScriptedFeed implements ChangeFeed {
  vouching = true;
  busy = false;
  private readonly listeners: ((event: ChangeEvent) => void)[] = [];
  vouch(): boolean {
    return this.vouching;
  }
  subscribe(listener: (event: ChangeEvent) => void): void {
    this.listeners.push(listener);
  }
  emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }
  async close(): Promise<void> {}
}

const head = (version: number) => ({ version, outboxId: `outbox-${version}`, digest: `digest-${version}` });

const keyedBy = (feed: ChangeFeed | undefined, ttlMs = 10_000) =>
  new RememberedRows<ReturnType<typeof head>>([{ feed, keyed: true }], { max: 1_000, ttlMs });

describe('RememberedRows', () => {
  it('keeps nothing read before a change that the feed discovers only when asked to vouch (SQLite data_version)', () => {
    // SQLite's feed learns of another connection's commit inside vouch(), and tells its listeners then.
    const feed = new ScriptedFeed();
    let pending = false;
    feed.vouch = function (this: ScriptedFeed) {
      if (pending) {
        pending = false;
        this.emit({ everything: true });
      }
      return this.vouching;
    };
    const heads = keyedBy(feed);
    const mark = heads.mark();
    // The row is read, then another connection commits a change of it before `remember`.
    pending = true;
    heads.remember('a/token', head(1), mark);
    expect(heads.get('a/token')).toBeUndefined();
  });

  it('remembers a head read while the feed vouches, and forgets it on its key, on everything, or at own commit', () => {
    const feed = new ScriptedFeed();
    const heads = keyedBy(feed);
    heads.remember('a/token', head(1), heads.mark());
    heads.remember('b/token', head(1), heads.mark());
    expect(heads.get('a/token')).toEqual(head(1));

    feed.emit({ key: 'a/token' });
    expect(heads.get('a/token')).toBeUndefined();
    expect(heads.get('b/token')).toEqual(head(1));

    feed.emit({ everything: true });
    expect(heads.get('b/token')).toBeUndefined();

    heads.remember('b/token', head(2), heads.mark());
    heads.forget('b/token');
    expect(heads.get('b/token')).toBeUndefined();
  });

  it('keeps nothing read across a change (any key), nor while the feed does not vouch', () => {
    const feed = new ScriptedFeed();
    const heads = keyedBy(feed);
    let mark = heads.mark();
    feed.emit({ key: 'other/token' }); // arrives while the read is in flight
    heads.remember('a/token', head(1), mark);
    expect(heads.get('a/token')).toBeUndefined();

    mark = heads.mark();
    heads.forget('a/token'); // our own publication committed meanwhile
    heads.remember('a/token', head(1), mark);
    expect(heads.get('a/token')).toBeUndefined();

    heads.remember('a/token', head(2), heads.mark());
    feed.vouching = false;
    expect(heads.get('a/token')).toBeUndefined();
    heads.remember('a/token', head(3), heads.mark());
    feed.vouching = true;
    // What was remembered before the feed stopped vouching is not trusted again.
    expect(heads.get('a/token')).toBeUndefined();
  });

  it('remembers nothing without a feed, and lets entries expire', async () => {
    const none = keyedBy(undefined);
    expect(none.watching).toBe(false);
    none.remember('a/token', head(1), none.mark());
    expect(none.get('a/token')).toBeUndefined();

    const heads = keyedBy(new ScriptedFeed(), 10);
    heads.remember('a/token', head(1), heads.mark());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(heads.get('a/token')).toBeUndefined();
  });

  it('forgets everything on any change of an unkeyed table, and trusts nothing unless every feed vouches', () => {
    const keys = new ScriptedFeed();
    const owners = new ScriptedFeed();
    const rows = new RememberedRows<ReturnType<typeof head>>(
      [
        { feed: keys, keyed: true },
        { feed: owners, keyed: false },
      ],
      { max: 10, ttlMs: 10_000 },
    );
    rows.remember('k1', head(1), rows.mark());
    rows.remember('k2', head(1), rows.mark());
    owners.emit({ key: 'some-owner' });
    expect(rows.get('k1')).toBeUndefined();
    expect(rows.get('k2')).toBeUndefined();

    rows.remember('k1', head(2), rows.mark());
    expect(rows.get('k1')).toEqual(head(2));
    owners.vouching = false;
    expect(rows.get('k1')).toBeUndefined();
    owners.vouching = true;
    expect(rows.get('k1')).toBeUndefined();

    const partial = new RememberedRows<ReturnType<typeof head>>(
      [
        { feed: keys, keyed: true },
        { feed: undefined, keyed: false },
      ],
      { max: 10, ttlMs: 10_000 },
    );
    expect(partial.watching).toBe(false);
    partial.remember('k1', head(1), partial.mark());
    expect(partial.get('k1')).toBeUndefined();
  });

  it('keeps what it remembered while a feed is only busy (SQLite inside a transaction), without answering from it', () => {
    const feed = new ScriptedFeed();
    const rows = keyedBy(feed);
    rows.remember('a/token', head(1), rows.mark());
    feed.vouching = false;
    feed.busy = true;
    expect(rows.get('a/token')).toBeUndefined();
    rows.remember('b/token', head(1), rows.mark()); // nothing is learnt while busy
    feed.vouching = true;
    feed.busy = false;
    expect(rows.get('a/token')).toEqual(head(1));
    expect(rows.get('b/token')).toBeUndefined();
    // A change heard while busy still drops its key.
    feed.vouching = false;
    feed.busy = true;
    feed.emit({ key: 'a/token' });
    feed.vouching = true;
    feed.busy = false;
    expect(rows.get('a/token')).toBeUndefined();
  });
});
