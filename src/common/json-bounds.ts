/**
 * Limits on untrusted JSON before anything walks it recursively. A validly signed payload can still be
 * hostile (anyone may anchor a did:ethr key), so depth and size are bounded before the first recursive walk.
 */
export interface JsonBounds {
  /** Deepest nesting of arrays and objects; the top level is depth 1. */
  maxDepth: number;
  /** Array elements plus object members, summed over the whole value. */
  maxNodes: number;
}

export const DEFAULT_JSON_BOUNDS: JsonBounds = { maxDepth: 32, maxNodes: 20_000 };

/** Returns a one-line reason when the value exceeds the bounds; iterative, so it cannot overflow the stack. */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds = DEFAULT_JSON_BOUNDS): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > bounds.maxDepth) return `JSON nested deeper than ${bounds.maxDepth} levels`;
    const children = Array.isArray(current) ? current : Object.values(current);
    nodes += children.length;
    if (nodes > bounds.maxNodes) return `JSON with more than ${bounds.maxNodes} members`;
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

/**
 * Finds the first object member name that occurs twice in one object of a JSON text (RFC 8725 §3.8 asks
 * JOSE parsers to reject those; JSON.parse silently keeps the last). Undefined when there is none or the
 * text is not JSON (the caller's JSON.parse reports that).
 */
export function duplicateJsonMember(text: string): string | undefined {
  const scopes: Array<Set<string> | null> = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          escaped = true;
          j += 2;
        } else j += 1;
      }
      const scope = scopes[scopes.length - 1];
      if (expectKey && scope) {
        let name: string;
        try {
          // Only a name with escapes needs decoding to compare it (most have none: no parse per member).
          name = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        } catch {
          return undefined;
        }
        if (scope.has(name)) return name;
        scope.add(name);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (ch === '{') {
      scopes.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      scopes.push(null);
    } else if (ch === '}' || ch === ']') {
      scopes.pop();
    } else if (ch === ',') {
      expectKey = scopes[scopes.length - 1] != null;
    }
    i += 1;
  }
  return undefined;
}
