#!/usr/bin/env node
// Compiles contracts/*.sol with the pinned solc npm package into contracts/artifacts/<Name>.json
// (abi + bytecode); imports of @openzeppelin/contracts come from node_modules (an exact version in
// package.json). The artifacts are committed; a unit test recompiles and compares them, so the checked-in
// bytecode always matches its source. Compiler warnings about our sources fail the check.
// Usage: node scripts/compile-contracts.mjs [--check]
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileContracts } from './solc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourcesDir = join(root, 'contracts');
const artifactsDir = join(sourcesDir, 'artifacts');
const check = process.argv.includes('--check');
const sources = Object.fromEntries(
  readdirSync(sourcesDir)
    .filter((file) => file.endsWith('.sol'))
    .sort()
    .map((file) => [file, readFileSync(join(sourcesDir, file), 'utf8')]),
);
const { artifacts, warnings } = compileContracts(sources);
for (const warning of warnings) console.error(warning);
mkdirSync(artifactsDir, { recursive: true });
let stale = warnings.length;
for (const [name, artifact] of Object.entries(artifacts)) {
  const path = join(artifactsDir, `${name}.json`);
  const text = JSON.stringify(artifact, null, 2) + '\n';
  if (check) {
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
// An artifact whose contract is gone would still be loadable by name: it must go too.
for (const file of readdirSync(artifactsDir).filter((entry) => entry.endsWith('.json'))) {
  if (file.slice(0, -'.json'.length) in artifacts) continue;
  const path = join(artifactsDir, file);
  if (check) {
    console.error(`${path} has no source in contracts/`);
    stale++;
  } else {
    rmSync(path);
    console.log(`removed ${path}`);
  }
}
process.exit(stale ? 1 : 0);
