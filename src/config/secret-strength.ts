/**
 * Weak-secret rules that apply in production: a secret a person typed (short, repetitive, or from a small
 * alphabet) is refused at start-up, as is a master key of all-zero or repeated bytes.
 */
export const MIN_OPERATOR_KEY_LENGTH = 32;
export const MIN_OPERATOR_KEY_BITS = 96;
export const MIN_MASTER_KEY_DISTINCT_BYTES = 16;

/** Shannon entropy of a string times its length, in bits: a cheap lower bound against "password123…". */
export function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/** True for "abcabcabc…": a short pattern repeated, whatever its per-character entropy. */
function isPeriodic(value: string): boolean {
  for (let period = 1; period <= value.length / 2; period++) {
    let repeats = true;
    for (let i = period; i < value.length && repeats; i++) repeats = value[i] === value[i - period];
    if (repeats) return true;
  }
  return false;
}

/** A secret a person typed rather than generated: short, repetitive, or from a small alphabet. */
export function isWeakSecret(value: string, minLength: number, minBits: number): boolean {
  return value.length < minLength || estimatedEntropyBits(value) < minBits || isPeriodic(value);
}

/** The problems of the production secrets that are set (a missing one is reported by the caller). */
export function secretStrengthProblems(secrets: { OPERATOR_API_KEY?: string; KMS_MASTER_KEY?: string }): string[] {
  const problems: string[] = [];
  const { OPERATOR_API_KEY: operatorKey, KMS_MASTER_KEY: masterKey } = secrets;
  if (operatorKey && isWeakSecret(operatorKey, MIN_OPERATOR_KEY_LENGTH, MIN_OPERATOR_KEY_BITS)) {
    problems.push(
      `OPERATOR_API_KEY: too weak for production (use at least ${MIN_OPERATOR_KEY_LENGTH} random characters, e.g. openssl rand -base64 32)`,
    );
  }
  if (masterKey && new Set(Buffer.from(masterKey, 'base64')).size < MIN_MASTER_KEY_DISTINCT_BYTES) {
    problems.push('KMS_MASTER_KEY: not random (all-zero or repeated bytes); use openssl rand -base64 32');
  }
  return problems;
}
