// Test order for `npm test`: longest suite first, so that the two workers finish together (longest-processing-time
// scheduling). Jest already does this from its own cache of the last run's durations, but a clean clone (CI) has
// no cache and falls back to file size, which puts a 4-minute suite behind dozens of short ones. Durations measured
// on the 2-core machine are committed in suite-times.json (seconds per file, the mean over the projects that run
// it; refresh with `node scripts/suite-times.mjs <jest --json output>`); an unlisted file is estimated from its size.
// Jest's own cache still wins when it has a duration, and failed suites still run first.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Sequencer from '@jest/test-sequencer';

const known = JSON.parse(readFileSync(join(import.meta.dirname, 'suite-times.json'), 'utf8'));

export default class LongestFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached !== undefined) return cached;
    const key = relative(test.context.config.rootDir, test.path);
    if (known[key] !== undefined) return known[key] * 1000;
    // Unknown suite: about 1 s per kB for an end-to-end file (it starts the app), a tenth of that for a unit file.
    const size = test.context.hasteFS.getSize(test.path) ?? 0;
    return test.path.endsWith('.e2e-spec.ts') ? size : size / 10;
  }
}
