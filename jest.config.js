// Jest in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by scripts/test.mjs) with @swc/jest.
// End-to-end tests run twice: once on SQLite and once on PostgreSQL.
// `npm test -- --selectProjects contracts` runs the contract tests alone.
import { SWC_OPTIONS } from './test/support/swc-options.mjs';

// The same transform as the service's children get (test/support/swc-options.mjs).
const swc = ['@swc/jest', SWC_OPTIONS];

const base = {
  // jest's Node environment, with qrcode loaded by Node outside the test's vm context (60 times faster PNGs; see there).
  testEnvironment: '<rootDir>/test/support/environment.mjs',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', '^qrcode$': '<rootDir>/test/support/qrcode.mjs' },
  transform: { '^.+\\.ts$': swc },
  testTimeout: 120_000,
  // The compiled tree of compile-children.mjs is no source of tests or modules (a per-project option).
  modulePathIgnorePatterns: ['<rootDir>/.cache/'],
};

export default {
  testTimeout: 120_000,
  // End-to-end files wait on their chain node, database and browser a good part of the time: with two workers the
  // two cores were ~70 % busy over a CI run (23 CPU minutes in 16), so a third worker fills the waits.
  maxWorkers: 3,
  // A worker keeps much of what each test file's module registry held (ESM under vm: every file evaluates the app's
  // module graph again), so its heap grows by 50–100 MB per file. Left alone, on a clean clone, it passed 3 GB of
  // Node's 4.3 GB limit half-way through the run and garbage collection then took most of the time: 1-test unit
  // files took 48–76 s, contract/approvals 105 s (6 s in suite-times.json). A worker whose heap passes this after a
  // file is replaced by a fresh one (about a second) before its next file.
  workerIdleMemoryLimit: '1GB',
  // Longest file first (committed durations, test/support/suite-times.json), so both workers finish together.
  testSequencer: '<rootDir>/test/support/sequencer.mjs',
  // The service compiled once per run for the tests that start it in a child process (see there).
  globalSetup: '<rootDir>/test/support/compile-children.mjs',
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'] },
    // Solidity contracts against a real hardhat node: one node per file, many cases per file.
    { ...base, displayName: 'contracts', testMatch: ['<rootDir>/contracts/test/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'sqlite',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/use-sqlite.ts'],
    },
    {
      ...base,
      displayName: 'postgres',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/use-postgres.ts'],
    },
  ],
};
