// The deployable artifacts under docker/, tested without Docker or Besu (neither runs here): the QBFT
// network generator (scripts/qbft-genesis.mjs) run as an operator runs it, and the replicas' environment
// (docker/chancery.env + compose.yaml + secrets read by docker/entrypoint.mjs) through loadConfig.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { SigningKey, Wallet, computeAddress, decodeRlp, getAddress, hexlify } from 'ethers';
import { projectRoot } from '../common/project-root.js';
import { ConfigError, loadConfig } from './config.js';

const root = projectRoot();
const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');

type Env = Record<string, string | undefined>;
interface EntryPoint {
  FILE_SECRETS: string[];
  applyFileSecrets(env: Env, readFile?: (path: string) => string): Env;
}
const entryPointPath = '../../docker/entrypoint.mjs';
const entryPoint = async () => (await import(entryPointPath)) as EntryPoint;

/** The lines of one top-level service of compose.yaml (a plain two-space-indented YAML subset). */
function composeService(yaml: string, name: string): string[] {
  const lines = yaml.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start < 0) throw new Error(`service ${name} not found in compose.yaml`);
  const end = lines.findIndex((line, i) => i > start && /^ {0,2}\S/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The entries under `key:` of a service: list items (`- x`) and map entries (`K: v`), one indent deeper. */
function composeEntries(service: string[], key: string): string[] {
  const start = service.indexOf(`    ${key}:`);
  if (start < 0) return [];
  const entries: string[] = [];
  for (const line of service.slice(start + 1)) {
    if (!line.startsWith('      ')) break;
    if (!line.startsWith('       ')) entries.push(line.trim().replace(/^- /, ''));
  }
  return entries;
}

const composeEnvironment = (service: string[]): Env =>
  Object.fromEntries(
    composeEntries(service, 'environment').map((entry) => {
      const [name, ...value] = entry.split(': ');
      return [name, value.join(': ')];
    }),
  );

describe('scripts/qbft-genesis.mjs', () => {
  let out: string;
  let printed: string;
  const dir = mkdtempSync(join(tmpdir(), 'chancery-qbft-'));
  const chainId = loadConfig({ CHAIN_ID: (parseEnv(read('docker', 'chancery.env')) as Env).CHAIN_ID }).chain.chainId;
  const run = () =>
    spawnSync(process.execPath, ['scripts/qbft-genesis.mjs', '--out', out, '--chain-id', String(chainId)], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });

  beforeAll(() => {
    out = join(dir, 'network');
    const result = run();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    printed = result.stdout;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const validators = () =>
    [1, 2, 3, 4].map((i) => {
      const folder = join(out, `validator-${i}`);
      const wallet = new Wallet(readFileSync(join(folder, 'key'), 'utf8').trim());
      return { folder, wallet, publicKey: readFileSync(join(folder, 'key.pub'), 'utf8').trim() };
    });
  const genesis = () => JSON.parse(readFileSync(join(out, 'genesis.json'), 'utf8'));

  it('writes four validator keys, private to the operator and never printed', () => {
    const keys = validators();
    expect(new Set(keys.map((key) => key.wallet.address)).size).toBe(4);
    for (const { folder, wallet, publicKey } of keys) {
      expect(statSync(join(folder, 'key')).mode & 0o077).toBe(0);
      expect(readFileSync(join(folder, 'address'), 'utf8').trim()).toBe(wallet.address);
      expect(computeAddress(SigningKey.computePublicKey(`0x04${publicKey.slice(2)}`))).toBe(wallet.address);
      expect(printed).toContain(wallet.address);
      expect(printed).not.toContain(wallet.privateKey.slice(2));
    }
  });

  it('encodes the validators in the QBFT extraData: RLP([vanity, validators, no vote, round 0, no seals])', () => {
    const decoded = decodeRlp(genesis().extraData);
    expect(Array.isArray(decoded)).toBe(true);
    const [vanity, listed, vote, round, seals, ...rest] = decoded as unknown[];
    expect(rest).toEqual([]);
    expect(vanity).toBe(hexlify(new Uint8Array(32)));
    const expected = validators()
      .map((key) => key.wallet.address.toLowerCase())
      .sort();
    expect(listed).toEqual(expected);
    expect((listed as string[]).map((address) => getAddress(address)).length).toBe(4);
    expect(vote).toEqual([]);
    expect(round).toBe('0x');
    expect(seals).toEqual([]);
  });

  it('writes a free-gas QBFT genesis for the chain id the replicas are configured with', () => {
    const { config, baseFeePerGas, mixHash, difficulty } = genesis();
    expect(config.chainId).toBe(chainId);
    expect(config.chainId).toBe(7777);
    expect(config.zeroBaseFee).toBe(true);
    expect(baseFeePerGas).toBe('0x0');
    expect(config.londonBlock).toBe(0);
    // contracts/ is compiled for cancun: the EVM must have it from the start.
    expect(config.shanghaiTime).toBe(0);
    expect(config.cancunTime).toBe(0);
    expect(config.contractSizeLimit).toBeGreaterThanOrEqual(24_576);
    expect(config.qbft).toEqual({ blockperiodseconds: 2, epochlength: 30000, requesttimeoutseconds: 8 });
    expect(mixHash).toBe('0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365');
    expect(difficulty).toBe('0x1');
    expect(config.ethash ?? config.clique ?? config.ibft2).toBeUndefined();
  });

  it('lists every validator as a static peer at the address compose.yaml gives its Besu node', () => {
    const compose = read('docker', 'compose.yaml');
    const enodes = JSON.parse(readFileSync(join(out, 'static-nodes.json'), 'utf8')) as string[];
    validators().forEach(({ publicKey }, i) => {
      const ip = composeService(compose, `besu-${i + 1}`)
        .find((line) => line.trim().startsWith('ipv4_address: '))
        ?.trim()
        .slice('ipv4_address: '.length);
      expect(ip).toBe(`172.28.0.${11 + i}`);
      expect(enodes[i]).toBe(`enode://${publicKey.slice(2)}@${ip}:30303`);
      expect(composeService(compose, `besu-${i + 1}`).join('\n')).toContain(`./network/validator-${i + 1}:/node`);
    });
  });

  it('refuses to overwrite an existing network (its keys and chain would be lost)', () => {
    const before = validators().map((key) => key.wallet.privateKey);
    const again = run();
    expect(again.status).toBe(1);
    expect(validators().map((key) => key.wallet.privateKey)).toEqual(before);
  });
});

describe('docker/chancery.env and compose.yaml', () => {
  const compose = read('docker', 'compose.yaml');
  const fileEnv = parseEnv(read('docker', 'chancery.env')) as Env;
  // What an operator puts into docker/secrets/ (README step 2) and what chancery-bootstrap writes.
  const secrets: Record<string, string> = {
    '/run/secrets/kms_master_key': `${randomBytes(32).toString('base64')}\n`,
    '/run/secrets/operator_api_key': `${randomBytes(32).toString('base64url')}\n`,
    '/run/secrets/postgres_password': `${randomBytes(24).toString('hex')}\n`,
  };
  const contractsEnv = {
    CHAIN_REGISTRY_ADDRESS: Wallet.createRandom().address,
    CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS: Wallet.createRandom().address,
    CHAIN_STATUS_ANCHOR_ADDRESS: Wallet.createRandom().address,
    CHAIN_CONSORTIUM_ADDRESS: Wallet.createRandom().address,
    CHAIN_AUDIT_ANCHOR_ADDRESS: Wallet.createRandom().address,
  };
  const readSecret = (path: string) => {
    if (!(path in secrets)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return secrets[path]!;
  };

  it.each(['chancery-1', 'chancery-2'])('%s: its environment passes config validation in production', async (name) => {
    const service = composeService(compose, name);
    expect(composeEntries(service, 'env_file')).toEqual(['chancery.env', 'network/contracts.env']);
    const env = (await entryPoint()).applyFileSecrets(
      { ...fileEnv, ...contractsEnv, ...composeEnvironment(service) },
      readSecret,
    );
    const config = loadConfig(env);
    expect(config.env).toBe('production');
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.publicUrl).toMatch(/^https:\/\//);
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://chancery@postgres:5432/chancery' });
    expect(config.chain.rpcUrl).toBe(`http://besu-${name.slice(-1)}:8545`);
    expect(config.chain.contracts).toEqual({
      EthereumDIDRegistry: contractsEnv.CHAIN_REGISTRY_ADDRESS,
      TrustedIssuerRegistry: contractsEnv.CHAIN_TRUSTED_ISSUER_REGISTRY_ADDRESS,
      StatusListAnchor: contractsEnv.CHAIN_STATUS_ANCHOR_ADDRESS,
      AuditAnchor: contractsEnv.CHAIN_AUDIT_ANCHOR_ADDRESS,
    });
    expect(config.chain.consortium.address).toBe(contractsEnv.CHAIN_CONSORTIUM_ADDRESS);
    expect(config.keys.masterKey?.toString('base64')).toBe(secrets['/run/secrets/kms_master_key']!.trim());
    expect(config.operatorApiKey).toBe(secrets['/run/secrets/operator_api_key']!.trim());
    expect(env.PGPASSWORD).toBe(secrets['/run/secrets/postgres_password']!.trim());
    expect(config.demoAgency).toBe(false);
    // Behind the proxy: its X-Forwarded-For is believed, and its sockets are not capped per address.
    const proxy = /proxy:[\s\S]*?ipv4_address: ([\d.]+)/.exec(compose)?.[1];
    expect(config.platform.trustProxy).toBe(proxy);
    expect(config.platform.maxConnectionsPerAddress).toBe(0);
  });

  it.each(['chancery-1', 'chancery-2', 'chancery-bootstrap'])('%s: mounts every secret file chancery.env names', (name) => {
    const mounted = composeEntries(composeService(compose, name), 'secrets');
    const named = Object.entries(fileEnv)
      .filter(([variable]) => variable.endsWith('_FILE') || variable === 'NODE_EXTRA_CA_CERTS')
      .map(([, path]) => path!.replace('/run/secrets/', ''));
    expect(named.length).toBeGreaterThan(3);
    for (const secret of named) {
      expect(mounted).toContain(secret);
      expect(compose).toContain(`\n  ${secret}:\n    file: ./secrets/`);
    }
  });

  it('is refused without the secrets or the contract addresses, so the checks above are not vacuous', async () => {
    expect(() => loadConfig({ ...fileEnv, ...contractsEnv })).toThrow(ConfigError);
    const withSecrets = (await entryPoint()).applyFileSecrets(fileEnv, readSecret);
    expect(() => loadConfig(withSecrets)).toThrow(ConfigError);
  });

  it('the entry point refuses a secret given twice, an unreadable or an empty secret file', async () => {
    const { applyFileSecrets, FILE_SECRETS } = await entryPoint();
    expect(FILE_SECRETS).toEqual(expect.arrayContaining(['KMS_MASTER_KEY', 'OPERATOR_API_KEY', 'PGPASSWORD']));
    expect(() =>
      applyFileSecrets({ KMS_MASTER_KEY: 'x', KMS_MASTER_KEY_FILE: '/run/secrets/kms_master_key' }, readSecret),
    ).toThrow(/KMS_MASTER_KEY and KMS_MASTER_KEY_FILE are both set/);
    expect(() => applyFileSecrets({ OPERATOR_API_KEY_FILE: '/run/secrets/nope' }, readSecret)).toThrow(/ENOENT/);
    expect(() => applyFileSecrets({ PGPASSWORD_FILE: '/empty' }, () => '\n')).toThrow(/PGPASSWORD_FILE/);
    // Only the listed names are read from files; the _FILE variables themselves are not passed on.
    const env = applyFileSecrets({ OTHER_FILE: '/etc/passwd', PGPASSWORD_FILE: '/p' }, () => 'secret\n');
    expect(env).toEqual({ OTHER_FILE: '/etc/passwd', PGPASSWORD: 'secret' });
  });
});

describe('docker/Dockerfile', () => {
  const dockerfile = read('docker', 'Dockerfile');

  it('is multi-stage, installs production dependencies only, runs unprivileged with a health check', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^RUN npm /m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n.*\/health/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["sh", "scripts\/with-allocator\.sh", "node", (".*", )?"docker\/entrypoint\.mjs"\]$/m);
    // The allocator the launcher looks for is in the image (docs/adr/0051).
    expect(runtime).toMatch(/^RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 /m);
    expect(runtime).toMatch(/^COPY scripts\/with-allocator\.sh scripts\/$/m);
  });

  it('copies only paths that exist in the repository and are not excluded by .dockerignore', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.split(' '));
    expect(sources).toEqual(expect.arrayContaining(['package-lock.json', 'src', 'catalogue', 'contracts/artifacts']));
    for (const source of sources) {
      expect(() => statSync(join(root, source))).not.toThrow();
      expect(ignored).not.toContain(source);
    }
  });
});

describe('the V8 heap flags (docs/adr/0025, docs/adr/0027)', () => {
  const semiSpace = '--max-semi-space-size=64';
  const growing = '--heap-growing-percent=300';
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

  it('are the same wherever the service is started as where the bench measured it', () => {
    for (const name of ['start', 'start:dev', 'bench'])
      expect(scripts[name]).toMatch(
        / && sh scripts\/with-allocator\.sh node --max-semi-space-size=64 --heap-growing-percent=300 /,
      );
    const entryPoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('docker', 'Dockerfile'))?.[1];
    expect(JSON.parse(entryPoint ?? '[]')).toEqual([
      'sh',
      'scripts/with-allocator.sh',
      'node',
      semiSpace,
      growing,
      'docker/entrypoint.mjs',
    ]);
  });

  const heapLimit = (...flags: string[]) => {
    const probe = spawnSync(process.execPath, [...flags, '-p', 'v8.getHeapStatistics().heap_size_limit'], { encoding: 'utf8' });
    expect(probe.stderr).toBe('');
    expect(probe.status).toBe(0);
    return Number(probe.stdout);
  };

  it('take effect: the heap grows its young generation to three 64 MB spaces', () => {
    const [withFlag, without] = [heapLimit(semiSpace), heapLimit()];
    expect(withFlag).toBeGreaterThan(without);
    expect(withFlag - heapLimit('--max-semi-space-size=16')).toBe(3 * 48 * 2 ** 20);
  });

  it('are understood by this Node: a V8 that dropped the growing factor flag would refuse to start', () => {
    expect(heapLimit(semiSpace, growing)).toBe(heapLimit(semiSpace));
    const unknown = spawnSync(process.execPath, ['--heap-growing-percentage-typo=300', '-e', '0'], { encoding: 'utf8' });
    expect(unknown.status).not.toBe(0);
  });
});

describe('scripts/with-allocator.sh (docs/adr/0051)', () => {
  const script = join(root, 'scripts', 'with-allocator.sh');
  /** The process the script starts: its id, its LD_PRELOAD, and whether jemalloc is mapped into it. */
  const launched = (env: Env) => {
    const probe = spawnSync(
      'sh',
      [
        script,
        process.execPath,
        '-p',
        "JSON.stringify({ pid: process.pid, preload: process.env.LD_PRELOAD || null, jemalloc: /libjemalloc/.test(require('fs').readFileSync('/proc/self/maps', 'utf8')) })",
      ],
      { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env } },
    );
    expect(probe.stderr).toBe('');
    expect(probe.status).toBe(0);
    return { ...(JSON.parse(probe.stdout) as { pid: number; preload: string | null; jemalloc: boolean }), spawned: probe.pid };
  };
  // The same places the script looks, so the test states what this machine should get.
  const installed = spawnSync(
    'sh',
    [
      '-c',
      'for l in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do [ -r "$l" ] && echo "$l" && break; done',
    ],
    { encoding: 'utf8' },
  ).stdout.trim();

  it('runs the command in its own process (exec), with jemalloc preloaded when the machine has it', () => {
    const started = launched({});
    expect(started.pid).toBe(started.spawned);
    expect(started.preload).toBe(installed || null);
    expect(started.jemalloc).toBe(installed !== '');
  });

  it("keeps the C library's malloc when told to, and leaves an LD_PRELOAD already set alone", () => {
    expect(launched({ CHANCERY_ALLOCATOR: 'system' })).toMatchObject({ preload: null, jemalloc: false });
    // A misspelt choice is refused, not read as "system".
    const misspelt = spawnSync('sh', [script, process.execPath, '-e', '0'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'], CHANCERY_ALLOCATOR: 'JEMALLOC' },
    });
    expect(misspelt.status).toBe(2);
    expect(misspelt.stderr).toMatch(/CHANCERY_ALLOCATOR must be jemalloc or system, not 'JEMALLOC'/);
    expect(launched({ LD_PRELOAD: '' })).toMatchObject({ preload: installed || null });
    // The C library itself: a preload that exists and changes nothing.
    const libc = /\s(\/\S*\/libc\.so\.6)$/m.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1];
    expect(libc).toBeDefined();
    expect(launched({ LD_PRELOAD: libc })).toMatchObject({ preload: libc, jemalloc: false });
  });
});
