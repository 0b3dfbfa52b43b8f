import type { ChangeEvent, ChangeFeed } from '../persistence/index.js';
import { PublicationHeads } from './publication-heads.js';

/** A feed driven by the test: what it vouches for and which changes it reports. */
class ScriptedFeed implements ChangeFeed {
  vouching = true;
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

describe('PublicationHeads', () => {
  it('remembers a head read while the feed vouches, and forgets it on its key, on everything, or at own commit', () => {
    const feed = new ScriptedFeed();
    const heads = new PublicationHeads(feed);
    heads.remember('a', 'token', head(1), heads.mark());
    heads.remember('b', 'token', head(1), heads.mark());
    expect(heads.get('a', 'token')).toEqual(head(1));

    feed.emit({ key: 'a/token' });
    expect(heads.get('a', 'token')).toBeUndefined();
    expect(heads.get('b', 'token')).toEqual(head(1));

    feed.emit({ everything: true });
    expect(heads.get('b', 'token')).toBeUndefined();

    heads.remember('b', 'token', head(2), heads.mark());
    heads.forget('b', 'token');
    expect(heads.get('b', 'token')).toBeUndefined();
  });

  it('keeps nothing read across a change (any key), nor while the feed does not vouch', () => {
    const feed = new ScriptedFeed();
    const heads = new PublicationHeads(feed);
    let mark = heads.mark();
    feed.emit({ key: 'other/token' }); // arrives while the read is in flight
    heads.remember('a', 'token', head(1), mark);
    expect(heads.get('a', 'token')).toBeUndefined();

    mark = heads.mark();
    heads.forget('a', 'token'); // our own publication committed meanwhile
    heads.remember('a', 'token', head(1), mark);
    expect(heads.get('a', 'token')).toBeUndefined();

    heads.remember('a', 'token', head(2), heads.mark());
    feed.vouching = false;
    expect(heads.get('a', 'token')).toBeUndefined();
    heads.remember('a', 'token', head(3), heads.mark());
    feed.vouching = true;
    // What was remembered before the feed stopped vouching is not trusted again.
    expect(heads.get('a', 'token')).toBeUndefined();
  });

  it('remembers nothing without a feed, and lets entries expire', async () => {
    const none = new PublicationHeads(undefined);
    expect(none.watching).toBe(false);
    none.remember('a', 'token', head(1), none.mark());
    expect(none.get('a', 'token')).toBeUndefined();

    const heads = new PublicationHeads(new ScriptedFeed(), 10);
    heads.remember('a', 'token', head(1), heads.mark());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(heads.get('a', 'token')).toBeUndefined();
  });
});
