import { timeOrderedId } from './row-ids.js';

describe('timeOrderedId', () => {
  it('is an RFC 9562 UUIDv7 whose first 48 bits are the creation time', () => {
    const before = Date.now();
    const id = timeOrderedId();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const millis = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(after);
  });

  it('sorts in creation order as text, also many within one millisecond (index inserts append)', () => {
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId());
    expect(new Set(ids).size).toBe(ids.length);
    // Ascending as the database compares text keys (ASCII: code-unit order is byte order).
    expect([...ids].sort()).toEqual(ids);
  });
});
