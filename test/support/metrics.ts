/**
 * The sum of a Prometheus text exposition's samples named `name` whose labels include `labels`; undefined when
 * there is none (the exposition format 0.0.4: `name{label="value",...} number`).
 */
export function sampleSum(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).some(([key, value]) => found[key] !== value)) continue;
    sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}
