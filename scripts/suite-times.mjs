#!/usr/bin/env node
// Writes test/support/suite-times.json (read by test/support/sequencer.mjs) from a `jest --json` report:
//   npm test -- --json --outputFile=/tmp/jest.json && node scripts/suite-times.mjs /tmp/jest.json
// Seconds per test file, the mean over the projects that ran it (an end-to-end file runs on SQLite and PostgreSQL).
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const runs = new Map();
for (const result of report.testResults) {
  const path = relative(root, result.name);
  runs.set(path, [...(runs.get(path) ?? []), (result.endTime - result.startTime) / 1000]);
}
const times = Object.fromEntries(
  [...runs]
    .map(([path, seconds]) => [path, Math.round((seconds.reduce((a, b) => a + b, 0) / seconds.length) * 10) / 10])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(resolve(root, 'test/support/suite-times.json'), JSON.stringify(times, null, 2) + '\n');
console.log(`${Object.keys(times).length} files`);
