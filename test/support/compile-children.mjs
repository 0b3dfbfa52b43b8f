// Jest's globalSetup: compiles the service's TypeScript (src, migrations, test/support) once per test run into
// .cache/test-js/<digest of the sources>/, so that the tests that start the service in a child process (kill -9,
// two departments, the cluster, the CLI) run it as plain JavaScript. Through the loader hooks of register-ts.mjs each
// child spent ~3 s of CPU in Node's module loader talking to the hooks thread, for every start. The tree stays inside
// the project (package.json above it: ES modules, projectRoot()), not under node_modules, whose files Node would not
// read as ES modules. Tests read its place from CHANCERY_TEST_JS (childEntry in child-command.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from '@swc/core';
import { SWC_OPTIONS } from './swc-options.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = ['src', 'migrations', 'test/support'];

function typescriptFiles(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return typescriptFiles(path);
    return /\.ts$/.test(entry.name) && !/\.(spec|d)\.ts$/.test(entry.name) ? [path] : [];
  });
}

export default async function compileChildren() {
  const files = SOURCES.flatMap(typescriptFiles).sort();
  const digest = createHash('sha256').update(JSON.stringify(SWC_OPTIONS)).update(swc.version);
  const sources = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));
  for (const [file, source] of sources) digest.update(file).update('\0').update(source).update('\0');
  const dir = join(ROOT, '.cache/test-js', digest.digest('hex').slice(0, 16));
  if (!existsSync(join(dir, '.complete'))) {
    // Built beside it and renamed into place whole: two runs at once each build their own, one rename wins.
    const building = `${dir}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    await Promise.all(
      [...sources].map(async ([file, source]) => {
        const { code } = await swc.transform(source, { filename: join(ROOT, file), ...SWC_OPTIONS });
        const target = join(building, file.replace(/\.ts$/, '.js'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, code);
      }),
    );
    writeFileSync(join(building, '.complete'), '');
    try {
      renameSync(building, dir);
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  }
  process.env.CHANCERY_TEST_JS = dir;
}
