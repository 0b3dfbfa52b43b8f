import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from './config/index.js';
import { startApp, stopOnSignals } from './app.js';
import { FATAL_START_EXIT_CODE, runClusterPrimary } from './cluster.js';
import { ChainStateLostError, EmbeddedNodePortBusyError, WrongChainError } from './chain/index.js';

// A .env file in the working directory fills in variables the environment does not set.
if (existsSync('.env')) process.loadEnvFile('.env');

try {
  const config = loadConfig(process.env);
  // CLUSTER_WORKERS > 1: this process only forks and supervises the workers (src/cluster.ts).
  if (runClusterPrimary(config)) await new Promise(() => undefined);
  const running = await startApp(config);
  stopOnSignals(running);
  process.stdout.write(
    `Chancery listening on ${running.url} (API docs: ${running.url}/docs)` +
      (running.config.demoAgency ? `; demo credentials in ${running.config.dataDir}/demo-credentials.json` : '') +
      '\n',
  );
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(error.message + '\n');
    process.exit(2);
  }
  if (error instanceof ChainStateLostError || error instanceof WrongChainError) {
    process.stderr.write(error.message + '\n');
    process.exit(FATAL_START_EXIT_CODE);
  }
  if (error instanceof EmbeddedNodePortBusyError) {
    process.stderr.write(error.message + '\n');
    process.exit(1);
  }
  throw error;
}
