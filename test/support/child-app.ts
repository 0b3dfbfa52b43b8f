// The whole service in a child process, configured from the environment like main.ts; prints one JSON
// line when it listens. Run with: node --import ./test/support/register-ts.mjs test/support/child-app.ts
import { loadConfig } from '../../src/config/index.js';
import { startApp, stopOnSignals } from '../../src/app.js';

const running = await startApp(loadConfig(process.env));
stopOnSignals(running);
process.stdout.write(JSON.stringify({ url: running.url, operatorApiKey: running.operatorApiKey }) + '\n');
