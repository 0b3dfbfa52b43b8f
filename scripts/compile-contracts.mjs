#!/usr/bin/env node
// Compiles contracts/*.sol with the pinned solc npm package into contracts/artifacts/<Name>.json
// (abi + bytecode). The artifacts are committed; a unit test recompiles and compares them, so the
// checked-in bytecode always matches its source. Usage: node scripts/compile-contracts.mjs [--check]
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileContracts } from './solc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourcesDir = join(root, 'contracts');
const artifactsDir = join(sourcesDir, 'artifacts');
const sources = Object.fromEntries(
  readdirSync(sourcesDir)
    .filter((file) => file.endsWith('.sol'))
    .map((file) => [file, readFileSync(join(sourcesDir, file), 'utf8')]),
);
const artifacts = compileContracts(sources);
mkdirSync(artifactsDir, { recursive: true });
let stale = 0;
for (const [name, artifact] of Object.entries(artifacts)) {
  const path = join(artifactsDir, `${name}.json`);
  const text = JSON.stringify(artifact, null, 2) + '\n';
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${path} does not match its source`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale ? 1 : 0);
