import { readCapped } from './read-capped.js';

/** A chunked body with no Content-Length: the cap must stop reading, not buffer it all first. */
function streamed(chunks: number, chunkSize: number): { response: Response; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(chunkSize).fill(65));
    },
  });
  return { response: new Response(body), pulled: () => pulled };
}

describe('readCapped', () => {
  it('returns a body within the limit', async () => {
    expect(await readCapped(streamed(3, 10).response, 100)).toBe('A'.repeat(30));
  });

  it('stops reading as soon as a chunked body passes the limit', async () => {
    const { response, pulled } = streamed(1_000_000, 1_024);
    await expect(readCapped(response, 64 * 1_024)).rejects.toThrow('response too large');
    expect(pulled()).toBeLessThan(100);
  });
});
