// The whole service in a child process, configured from the environment like main.ts; prints one JSON
// line when it listens. Run with: node --import ./test/support/register-ts.mjs test/support/child-app.ts
import { loadConfig } from '../../src/config/index.js';
import { startApp } from '../../src/app.js';

const running = await startApp(loadConfig(process.env));
process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ url: running.url, operatorApiKey: running.operatorApiKey }) + '\n');
