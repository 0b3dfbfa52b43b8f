import jsonld from 'jsonld';
import { DocumentNotLoadable, type DocumentLoader } from './document-loader.js';
import { canonicalisationBudgetProblem } from './canonicalisation.js';
import { ourError } from './proofs.js';

/**
 * What JSON-LD says of a VCDM 2.0 document secured without Data Integrity (a JOSE credential), where no
 * canonicalisation would find it: a context that redefines a protected term, or a `type` that maps to no IRI
 * (VCDM 2.0 §4.5: "one or more terms and/or absolute URL strings"; a term that no context defines is neither).
 * Undefined claim names are not refused here (our catalogue's JOSE credentials name theirs in no context), and a
 * document whose contexts are not all bundled is not checked: nothing is fetched (ADR 12), and JOSE credentials may
 * name contexts we do not hold. Undefined when nothing is wrong or it could not be checked.
 */
export async function jsonLdTypeProblem(document: Record<string, unknown>, loader: DocumentLoader): Promise<string | undefined> {
  // Over the canonicalisation budget (ADR 35): not checked, as the JOSE path never needed it.
  if (canonicalisationBudgetProblem(document)) return undefined;
  let expanded: unknown;
  try {
    expanded = await jsonld.expand(document, { documentLoader: loader });
  } catch (error) {
    if (ourError(error) instanceof DocumentNotLoadable) return undefined;
    const message = String((error as Error).message ?? error)
      .split('\n')[0]!
      .slice(0, 200);
    return `not valid JSON-LD: ${message}`;
  }
  const unmapped = unmappedTypes(expanded);
  return unmapped.length
    ? `type ${unmapped.slice(0, 3).join(', ')} is not a term of the @context nor an absolute URL`
    : undefined;
}

/** `@type` values of the expanded document that are no absolute IRI (a term no context maps). */
function unmappedTypes(expanded: unknown): string[] {
  const found: string[] = [];
  const stack: unknown[] = [expanded];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) stack.push(...value);
    else if (typeof value === 'object' && value !== null) {
      // A value object's @type is its datatype (`@json` for JSON literals), which jsonld has checked itself.
      const valueObject = '@value' in value;
      for (const [key, member] of Object.entries(value)) {
        if (key === '@type' && !valueObject)
          for (const type of [member].flat())
            if (typeof type === 'string' && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(type)) found.push(type);
        if (key !== '@value') stack.push(member);
      }
    }
  }
  return found;
}
