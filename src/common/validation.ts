import type { z } from 'zod';
import { badRequest, type Violation } from './errors.js';

export function violationsOf(error: z.ZodError): Violation[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

/** Parses untrusted input; a failure becomes a 400 problem listing every violation. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(`The ${what} is invalid`, violationsOf(result.error));
  return result.data;
}
