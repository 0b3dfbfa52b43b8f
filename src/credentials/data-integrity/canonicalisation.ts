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
  /**
   * Objects with a type: JSON-LD expansion applies a type's scoped context at each one (the VCDM 2.0 context has
   * them for its own types), ~0.3–0.5 ms each. A credential has a handful; a presentation of ten, some fifty.
   */
  maxTypedObjects: 64,
  /**
   * Type values, all together: expansion applies a type's scoped context once per value, duplicates included, so
   * a `type` array repeating one scoped type cost as many applications as it has entries.
   */
  maxTypeValues: 256,
  /** Term definitions in inline `@context` objects, all together; none may carry a scoped context of its own. */
  maxInlineContextMembers: 200,
} as const;

/** The JSON-LD keys that give an object a type: `type`, `@type`, and whatever an inline context aliases to `@type`. */
function typeKeys(contexts: Record<string, unknown>[]): Set<string> {
  const keys = new Set(['type', '@type']);
  for (const context of contexts)
    for (const [term, definition] of Object.entries(context))
      if (definition === '@type' || (isObject(definition) && definition['@id'] === '@type')) keys.add(term);
  return keys;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every inline context object anywhere in the document (bounded by jsonBoundsProblem before this runs). */
function inlineContexts(document: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (isObject(value)) {
      for (const [key, member] of Object.entries(value)) {
        if (key === '@context') found.push(...[member].flat().filter(isObject));
        else stack.push(member);
      }
    }
  }
  return found;
}

/** Why a document is too costly to expand (typed objects, inline contexts), or undefined. */
export function expansionProblem(document: unknown): string | undefined {
  const { maxTypedObjects, maxTypeValues, maxInlineContextMembers } = CANONICALISATION_LIMITS;
  const contexts = inlineContexts(document);
  const terms = contexts.reduce((sum, context) => sum + Object.keys(context).length, 0);
  if (terms > maxInlineContextMembers) return `inline @context objects define more than ${maxInlineContextMembers} terms`;
  if (contexts.some((context) => Object.values(context).some((definition) => isObject(definition) && '@context' in definition)))
    return 'an inline @context may not define scoped contexts';
  const keys = typeKeys(contexts);
  let typed = 0;
  let typeValues = 0;
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (isObject(value)) {
      const types = Object.keys(value).flatMap((key) => (keys.has(key) ? [value[key]].flat() : []));
      if (types.length > 0 && ++typed > maxTypedObjects) return `more than ${maxTypedObjects} objects with a type`;
      if (new Set(types).size < types.length) return 'a type names the same value twice';
      if ((typeValues += types.length) > maxTypeValues) return `more than ${maxTypeValues} type values`;
      for (const [key, member] of Object.entries(value)) if (key !== '@context') stack.push(member);
    }
  }
  return undefined;
}

/** Why a document is over the canonicalisation budget (size and depth first, then expansion cost), or undefined. */
export function canonicalisationBudgetProblem(input: unknown): string | undefined {
  const { maxMembers } = CANONICALISATION_LIMITS;
  // Checked before JSON-LD expansion, whose own cost grows with the document.
  if (jsonBoundsProblem(input, { maxDepth: 32, maxNodes: maxMembers }))
    return `the document is too large to canonicalise (more than ${maxMembers} JSON members, or nested deeper than 32)`;
  const costly = expansionProblem(input);
  return costly ? `the document is too costly to canonicalise: ${costly}` : undefined;
}

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
  const { maxDeepIterations } = CANONICALISATION_LIMITS;
  return {
    ...suite,
    async canonize(input: unknown, options: Record<string, unknown>) {
      const overBudget = canonicalisationBudgetProblem(input);
      if (overBudget) throw new CanonicalisationRefused(overBudget);
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
