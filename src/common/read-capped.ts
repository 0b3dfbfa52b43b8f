/**
 * Reads a fetched body, giving up as soon as it passes `limit` bytes (a chunked body has no length to check
 * first): whoever answers chooses its size.
 */
export async function readCapped(response: Response, limit: number, tooLarge = 'response too large'): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) {
      await response.body.cancel().catch(() => undefined);
      throw new Error(tooLarge);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
