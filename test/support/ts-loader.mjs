// Node module hooks that run the TypeScript sources directly (same @swc transform as jest), so that an
// end-to-end test can start the service in a child process it may kill -9. `npm test` compiles the tree once
// instead (compile-children.mjs); these hooks serve a test run without it (a single file run by hand, say).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import swc from '@swc/core';
import { SWC_OPTIONS } from './swc-options.mjs';

export async function resolve(specifier, context, next) {
  if (/^\.{1,2}\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
    const candidate = fileURLToPath(new URL(specifier, context.parentURL)).replace(/\.js$/, '.ts');
    if (!candidate.includes('/node_modules/') && existsSync(candidate))
      return { url: pathToFileURL(candidate).href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const filename = fileURLToPath(url);
  const { code } = await swc.transform(await readFile(filename, 'utf8'), { filename, ...SWC_OPTIONS });
  return { format: 'module', source: code, shortCircuit: true };
}
