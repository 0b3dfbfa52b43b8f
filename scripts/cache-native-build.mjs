#!/usr/bin/env node
// Run by .ci/run after `npm ci`. better-sqlite3 publishes its compiled addons on GitHub, which these machines
// cannot reach, so every `npm ci` compiles SQLite from source (about 70 s of one core). prebuild-install looks
// in npm's cache before it downloads: this keeps the addon `npm ci` just built there, under the exact name
// prebuild-install computes for this package version, Node ABI, platform and architecture, so the next
// `npm ci` on this machine unpacks it (and loads it once to check it) instead of compiling. Anything else
// (another version or Node) misses the cache and compiles as before. Does nothing when it is cached already.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('better-sqlite3/package.json'));
const pkg = require('better-sqlite3/package.json');
const prebuildInstall = dirname(createRequire(join(packageDir, 'package.json')).resolve('prebuild-install/package.json'));
const util = require(join(prebuildInstall, 'util.js'));
const options = { ...require(join(prebuildInstall, 'rc.js'))(pkg), pkg };

const addon = join(packageDir, 'build/Release/better_sqlite3.node');
const cached = util.cachedPrebuild(util.getDownloadUrl(options));
if (existsSync(cached)) {
  console.log(`better-sqlite3 ${pkg.version}: its addon is in npm's prebuild cache already (${cached})`);
} else if (!existsSync(addon)) {
  console.log(`better-sqlite3 ${pkg.version}: no compiled addon at ${addon}; nothing cached`);
} else {
  mkdirSync(dirname(cached), { recursive: true });
  // Written beside it and renamed when complete: a run stopped half-way leaves no truncated archive behind.
  const partial = util.tempFile(cached);
  execFileSync('tar', ['-czf', partial, '-C', packageDir, 'build/Release/better_sqlite3.node']);
  renameSync(partial, cached);
  console.log(`better-sqlite3 ${pkg.version}: kept its compiled addon for the next npm ci (${cached})`);
}
