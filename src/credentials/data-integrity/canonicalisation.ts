import { jsonBoundsProblem } from '../../common/index.js';

/**
 * RDF canonicalisation within a budget (ADR 35). RDFC-1.0 costs linear time in the document for most graphs, but
 * blank nodes that look alike (a cycle, many identical leaves) make it compare them deeply, up to O(n²) or worse:
 * a 64 KB credential of 2,650 blank nodes in one cycle took 2.9 s of CPU before its signature was looked at, and
 * anyone may send one to the verify routes. Both bounds hold whatever the signature says; no credential we or any
 * ordinary issuer make comes near them (a licence is ~40 members, with no two blank nodes alike).
 */
export const CANONICALISATION_LIMITS = {
  /** JSON members and array elements of one canonicalised document (a presentation counts its credentials). */
  maxMembers: 1_000,
  /** Deep comparisons (RDFC-1.0 §4.8, N-degree hashing) of blank nodes whose first-degree hashes are equal. */
  maxDeepIterations: 16,
} as const;

/** A document over the canonicalisation budget; the message is ours and safe to show. */
export class CanonicalisationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalisationRefused';
  }
}

interface Cryptosuite {
  canonize(input: unknown, options: Record<string, unknown>): Promise<string>;
}

/**
 * The cryptosuite with its `canonize` held to CANONICALISATION_LIMITS. DataIntegrityProof canonicalises the document
 * and the proof options through it, for signing and for verifying, with either cryptosuite.
 */
export function boundedCryptosuite<S extends Cryptosuite>(suite: S): S {
  const { maxMembers, maxDeepIterations } = CANONICALISATION_LIMITS;
  return {
    ...suite,
    async canonize(input: unknown, options: Record<string, unknown>) {
      // Checked before JSON-LD expansion, whose own cost grows with the document.
      if (jsonBoundsProblem(input, { maxDepth: 32, maxNodes: maxMembers }))
        throw new CanonicalisationRefused(
          `the document is too large to canonicalise (more than ${maxMembers} JSON members, or nested deeper than 32)`,
        );
      try {
        return await suite.canonize(input, { ...options, maxDeepIterations });
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('Maximum deep iterations exceeded'))
          throw new CanonicalisationRefused(
            `the document's blank nodes are too alike to canonicalise within ${maxDeepIterations} deep comparisons`,
          );
        throw error;
      }
    },
  };
}
