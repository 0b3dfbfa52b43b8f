// Container entry point: reads secrets mounted as files (compose/Kubernetes secrets) into the variables
// the service expects, then starts the service. NAME_FILE=/run/secrets/x sets NAME to the file's content
// (one trailing newline removed), for the names below only; setting both NAME and NAME_FILE is an error.
/* eslint-disable no-restricted-properties -- a container entry point is where the environment comes in. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FILE_SECRETS = ['KMS_MASTER_KEY', 'OPERATOR_API_KEY', 'PGPASSWORD', 'DATABASE_URL', 'REDIS_URL', 'METRICS_TOKEN'];

/** Returns a copy of `env` with every NAME_FILE of FILE_SECRETS replaced by NAME = the file's content. */
export function applyFileSecrets(env, readFile = (path) => readFileSync(path, 'utf8')) {
  const result = { ...env };
  const problems = [];
  for (const name of FILE_SECRETS) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    delete result[`${name}_FILE`];
    if (env[name]) {
      problems.push(`${name} and ${name}_FILE are both set`);
      continue;
    }
    let value;
    try {
      value = readFile(file).replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${error?.code ?? 'error'})`);
      continue;
    }
    if (value === '') problems.push(`${name}_FILE: ${file} is empty`);
    else result[name] = value;
  }
  if (problems.length > 0) throw new Error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const env = applyFileSecrets(process.env);
    for (const name of FILE_SECRETS) delete process.env[`${name}_FILE`];
    Object.assign(process.env, env);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  await import('../dist/src/main.js');
}
