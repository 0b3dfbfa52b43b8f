import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Node's arguments to run one of the service's TypeScript entry points (`src/main.ts`, `test/support/child-app.ts`…)
 * in a child process: its compiled JavaScript when `npm test` compiled the tree (compile-children.mjs), else the
 * TypeScript itself through the loader hooks. Absolute paths: the child may run in another directory.
 */
export function childEntry(entry: string): string[] {
  const compiled = process.env['CHANCERY_TEST_JS'];
  if (compiled) return [join(compiled, entry.replace(/\.ts$/, '.js'))];
  return ['--import', pathToFileURL(resolve('test/support/register-ts.mjs')).href, resolve(entry)];
}
