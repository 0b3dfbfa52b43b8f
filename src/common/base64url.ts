/**
 * Scratch space for decoding: each verification decodes a JWS header and payload, every disclosure and a
 * status list's header; `Buffer.from` allocates for each (and a new 8 KB pool every few credentials).
 * Decoding is synchronous and the text is copied out at once, so one buffer serves every caller.
 */
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * The UTF-8 text a base64url string encodes, decoded as `Buffer.from(encoded, 'base64url').toString('utf8')`
 * does (the same lenient decoder: characters outside the alphabet are skipped), without allocating a buffer.
 */
export function base64urlText(encoded: string): string {
  // Three bytes per four characters at most: a longer input takes the allocating path.
  if (encoded.length > (scratch.length / 3) * 4) return Buffer.from(encoded, 'base64url').toString('utf8');
  const length = scratch.write(encoded, 'base64url');
  return scratch.toString('utf8', 0, length);
}
