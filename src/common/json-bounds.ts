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

/**
 * Returns a one-line reason when the value exceeds the bounds, or when an object in it has a member named
 * `toString`: parsed JSON cannot hold a function, so that member hides the inherited method and turning the
 * object into text (`String(value)`, a template literal) throws a TypeError wherever the value is reported.
 * Iterative, so it cannot overflow the stack.
 */
export function jsonBoundsProblem(value: unknown, bounds: JsonBounds = DEFAULT_JSON_BOUNDS): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > bounds.maxDepth) return `JSON nested deeper than ${bounds.maxDepth} levels`;
    const array = Array.isArray(current);
    if (!array && Object.hasOwn(current, 'toString')) return 'JSON with a member named "toString"';
    const children = array ? current : Object.values(current);
    nodes += children.length;
    if (nodes > bounds.maxNodes) return `JSON with more than ${bounds.maxNodes} members`;
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}

/**
 * Whether a JSON text has an object member named `__proto__` anywhere (JSON.parse keeps it as an own member, but the
 * first copy or schema parse that assigns it drops it silently, or turns it into the object's prototype). Found by
 * the same walk as `duplicateJsonMember` (no recursion, whatever the depth). For a text that is not JSON: false (the
 * caller's own parse reports that).
 */
export function hasPrototypeMember(text: string): boolean {
  // Most texts spell no such name: no walk for them (an escaped name has a \u escape somewhere).
  if (!text.includes('__proto__') && !text.includes('\\u')) return false;
  if (firstMember(text, (name) => name === '__proto__') === undefined) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the first object member name that occurs twice in one object of a JSON text (RFC 8725 §3.8 asks
 * JOSE parsers to reject those; JSON.parse silently keeps the last). Undefined when there is none or the
 * text is not JSON (the caller's JSON.parse reports that).
 */
export function duplicateJsonMember(text: string): string | undefined {
  return firstMember(text, (name, siblings) => siblings.has(name));
}

/**
 * The first object member name of a JSON text that `matches` (given the names before it in the same object), walking
 * the text once without recursion. Undefined when none does or the text is not JSON as far as the walk saw.
 */
function firstMember(text: string, matches: (name: string, siblings: ReadonlySet<string>) => boolean): string | undefined {
  const scopes: Array<Set<string> | null> = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      // From quote to quote by native search (most of a payload is inside strings), skipping escaped ones.
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && escapedAt(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return undefined; // not JSON: the caller's JSON.parse says so
      const scope = scopes[scopes.length - 1];
      if (expectKey && scope) {
        const raw = text.slice(i + 1, end);
        let name: string;
        try {
          // Only a name with escapes needs decoding to compare it (most have none: no parse per member).
          name = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        } catch {
          return undefined;
        }
        if (matches(name, scope)) return name;
        scope.add(name);
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (code === OPEN_OBJECT) {
      scopes.push(new Set());
      expectKey = true;
    } else if (code === OPEN_ARRAY) {
      scopes.push(null);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      scopes.pop();
    } else if (code === COMMA) {
      expectKey = scopes[scopes.length - 1] != null;
    }
    i += 1;
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Whether the quote at `index` is escaped: preceded by an odd run of backslashes. */
function escapedAt(text: string, index: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(index - 1 - backslashes) === BACKSLASH) backslashes += 1;
  return backslashes % 2 === 1;
}

/**
 * A value from untrusted JSON as text for a message, at most `maxLength` characters: strings as they are,
 * anything else as JSON. Never throws (String() does on an object whose `toString` member is not a function).
 */
export function untrustedText(value: unknown, maxLength = 40): string {
  let text: string | undefined;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = undefined;
  }
  return (text ?? typeof value).slice(0, maxLength);
}
