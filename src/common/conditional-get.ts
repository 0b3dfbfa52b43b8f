import { hash } from 'node:crypto';

/** A strong entity tag of the bytes served: their SHA-256 (one-shot, ADR 33). */
export const entityTagOf = (body: string | Buffer): string => `"${hash('sha256', body, 'base64url')}"`;

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2): the weak comparison (a proxy may have
 * made our tag weak), any tag of a list, and `*`.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  return (
    header?.split(',').some((tag) => {
      const trimmed = tag.trim();
      return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
    }) ?? false
  );
}
