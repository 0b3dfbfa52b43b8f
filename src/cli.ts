#!/usr/bin/env node
// Operator CLI. It talks to a running service over the operator API, so it works the same against the
// embedded default and a production deployment, and every action goes through the same checks and audit.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  agency:create --slug <slug> --name <name>                          create an agency (prints its first API key once)
  agency:list                                                        list agencies
  agency:show <id|slug>                                              one agency with its DID and signing key
  apikey:create <id|slug> [--label <text>]                           issue another API key for an agency
  apikey:list <id|slug>                                              an agency's API keys (prefix, label, created, revoked)
  apikey:revoke <id|slug> <prefix>                                   revoke an agency API key (chy_<prefix>_…)
  outbox                                                             chain writes by status
  chain                                                              chain id, network name, registry address
  oidc-client:create --name <name> --redirect-uri <uri>… --scope <scope>…
        [--auth-method client_secret_basic|client_secret_post|private_key_jwt] [--jwks-file <file>]
        [--id-token-alg ES256|RS256] [--data-sharing-permission <id>]
                                                                     register a portal for wallet login (prints its secret once)
  oidc-client:list                                                   registered portals
  relying-party:list                                                 relying parties with their client_ids
  consortium:status                                                  members, threshold, registries, our controller address
  consortium:init --threshold <m> [--founder <0xaddress=Name>…] [--name <department>]
                                                                     deploy a consortium founded by us and these members
  consortium:join <governance address>                               follow an existing consortium (members vote us in)
  proposal:list [--open] [--before <id>]                             the newest proposals with their votes (100 a page)
  proposal:create --kind <kind> [kind's options] [--lifetime-days <n>]
        AddMember --member <0x…> --name <department>     RemoveMember --member <0x…>     ChangeThreshold --threshold <m>
        AuthoriseIssuer|WithdrawIssuer --issuer <agency|did:ethr|0x…> --type <catalogue type>
        GrantPermission --relying-party <did> --client-id <id> --type <type> --claim <name>… --purpose <text>
                        --expires-at <unix seconds>              WithdrawPermission --permission <id>
        PublishType --type <type> --schema-digest <0x…32 bytes> --version <n>    RetireType --type <type>
        SetApprovalPolicy --type <type> --issuing-department <0x…> --issuing-agency <agency|did:ethr|0x…>
                          --department <0x…>… [--required <m>] [--decision-period <seconds>]
        RetireApprovalPolicy --policy <id>
  approval-policy:list                                               joint-approval policies on chain (retired too)
  approvals:inbox                                                    applications waiting for our department's decision
  approvals:show <application id>                                    one application: content (from the issuing
                                                                     department), policy, decisions, timeline
  approvals:decide <application id> --approve|--reject [--reason <code>]
                                                                     our department's decision, signed by our controller
  approvals:expire <application id>                                  close an application whose deadline passed
                                                                     (Rejected, deadline-missed), signed by our controller
  proposal:vote <id>                                                 our vote (the one that meets the threshold executes)
  oidc-client:delete <client-id>                                     remove a portal (its tokens stop working)
  catalogue:list                                                     credential types of the catalogue (retired too)
  catalogue:show <type-id>                                           one type with its versions and schema digests
  catalogue:create --file <type.json>                                create a credential type (catalogue/*.json shape)
  catalogue:version <type-id> --file <type.json>                     publish a new version of a type
  catalogue:retire <type-id>                                         retire a type (no new issuance; issued ones verify)
  audit:entry <seq>                                                  one audit entry, its inclusion proof and anchor
  audit:anchor                                                       anchor the entries not yet anchored, now
  citizen:hash-password                                              the password on stdin as the demo citizen directory
                                                                     keeps it (CITIZEN_DIRECTORY_FILE; no service needed)
  audit:verify [--rpc-url <url>] [--contract <address>] [--department <address>]…
                                                                     check the whole audit trail: hash chain and every
                                                                     anchored root, from the database and the chain
                                                                     directly (no service needed); first broken entry

Environment:
  DATABASE_URL, SQLITE_PATH, DATA_DIR, CHAIN_RPC_URL, CHAIN_AUDIT_ANCHOR_ADDRESS   audit:verify only, as the service
  CHANCERY_URL       service base URL (default http://127.0.0.1:\${PORT:-3000})
  OPERATOR_API_KEY   operator key (default: read from \${DATA_DIR:-./data}/demo-credentials.json)`;

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
}

function operatorKey(env: NodeJS.ProcessEnv): string {
  if (env.OPERATOR_API_KEY) return env.OPERATOR_API_KEY;
  const file = join(env.DATA_DIR ?? './data', 'demo-credentials.json');
  try {
    const key = (JSON.parse(readFileSync(file, 'utf8')) as { operatorApiKey?: string }).operatorApiKey;
    if (key) return key;
  } catch {
    // fall through to the error below
  }
  throw new Error(`No operator key: set OPERATOR_API_KEY or run the service once so that ${file} exists`);
}

function typeId(command: string, value: string | undefined): string {
  if (!value) throw new Error(`${command} needs a credential type id\n\n${USAGE}`);
  return encodeURIComponent(value);
}

function jsonFile(command: string, file: string | undefined): unknown {
  if (!file) throw new Error(`${command} needs --file <type.json>\n\n${USAGE}`);
  return readJsonFile(file);
}

/** A JSON file an operator named: its name in any error, not only the parser's words. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`);
  }
}

/** Maps argv to one operator API request; throws with the usage text for anything it does not know. */
export function requestFor(argv: string[]): Request {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      slug: { type: 'string' },
      name: { type: 'string' },
      label: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
      'auth-method': { type: 'string' },
      'id-token-alg': { type: 'string' },
      'jwks-file': { type: 'string' },
      'data-sharing-permission': { type: 'string' },
      file: { type: 'string' },
      threshold: { type: 'string' },
      founder: { type: 'string', multiple: true },
      kind: { type: 'string' },
      member: { type: 'string' },
      issuer: { type: 'string' },
      type: { type: 'string' },
      'relying-party': { type: 'string' },
      'client-id': { type: 'string' },
      claim: { type: 'string', multiple: true },
      purpose: { type: 'string' },
      'expires-at': { type: 'string' },
      permission: { type: 'string' },
      'schema-digest': { type: 'string' },
      version: { type: 'string' },
      'lifetime-days': { type: 'string' },
      'issuing-department': { type: 'string' },
      'issuing-agency': { type: 'string' },
      department: { type: 'string', multiple: true },
      required: { type: 'string' },
      'decision-period': { type: 'string' },
      policy: { type: 'string' },
      approve: { type: 'boolean' },
      open: { type: 'boolean' },
      before: { type: 'string' },
      reject: { type: 'boolean' },
      reason: { type: 'string' },
    },
  });
  const [command, target, extra] = positionals;
  const id = (value: string | undefined) => {
    if (!value) throw new Error(`${command} needs an agency id or slug\n\n${USAGE}`);
    return encodeURIComponent(value);
  };
  switch (command) {
    case 'agency:create':
      return {
        method: 'POST',
        path: '/operator/agencies',
        body: { slug: values.slug, name: values.name },
      };
    case 'agency:list':
      return { method: 'GET', path: '/operator/agencies' };
    case 'agency:show':
      return { method: 'GET', path: `/operator/agencies/${id(target)}` };
    case 'apikey:create':
      return {
        method: 'POST',
        path: `/operator/agencies/${id(target)}/api-keys`,
        body: values.label ? { label: values.label } : {},
      };
    case 'apikey:list':
      return { method: 'GET', path: `/operator/agencies/${id(target)}/api-keys` };
    case 'apikey:revoke': {
      // A whole key is accepted too; only its public prefix is sent.
      const prefix = /^chy_([A-Za-z0-9_-]{12})_/.exec(extra ?? '')?.[1] ?? extra;
      if (!prefix) throw new Error(`apikey:revoke needs an agency and a key prefix\n\n${USAGE}`);
      return { method: 'DELETE', path: `/operator/agencies/${id(target)}/api-keys/${encodeURIComponent(prefix)}` };
    }
    case 'outbox':
      return { method: 'GET', path: '/operator/outbox' };
    case 'chain':
      return { method: 'GET', path: '/operator/chain' };
    case 'oidc-client:create':
      return {
        method: 'POST',
        path: '/operator/oidc-clients',
        body: {
          name: values.name,
          redirectUris: values['redirect-uri'] ?? [],
          scopes: values.scope ?? [],
          ...(values['auth-method'] ? { tokenEndpointAuthMethod: values['auth-method'] } : {}),
          ...(values['id-token-alg'] ? { idTokenSignedResponseAlg: values['id-token-alg'] } : {}),
          ...(values['jwks-file'] ? { jwks: readJsonFile(values['jwks-file']) } : {}),
          ...(values['data-sharing-permission'] ? { dataSharingPermission: values['data-sharing-permission'] } : {}),
        },
      };
    case 'audit:entry':
      if (!target || !/^[1-9][0-9]*$/.test(target)) throw new Error(`audit:entry needs a sequence number\n\n${USAGE}`);
      return { method: 'GET', path: `/audit/entries/${target}` };
    case 'audit:anchor':
      return { method: 'POST', path: '/operator/audit/anchors' };
    case 'oidc-client:list':
      return { method: 'GET', path: '/operator/oidc-clients' };
    case 'relying-party:list':
      return { method: 'GET', path: '/operator/relying-parties' };
    case 'oidc-client:delete':
      if (!target) throw new Error(`oidc-client:delete needs a client id\n\n${USAGE}`);
      return { method: 'DELETE', path: `/operator/oidc-clients/${encodeURIComponent(target)}` };
    case 'catalogue:list':
      return { method: 'GET', path: '/operator/catalogue' };
    case 'catalogue:show':
      return { method: 'GET', path: `/operator/catalogue/${typeId(command, target)}` };
    case 'catalogue:create':
      return { method: 'POST', path: '/operator/catalogue', body: jsonFile(command, values.file) };
    case 'catalogue:version': {
      const { id: _id, ...definition } = jsonFile(command, values.file) as Record<string, unknown>;
      return { method: 'POST', path: `/operator/catalogue/${typeId(command, target)}/versions`, body: definition };
    }
    case 'catalogue:retire':
      return { method: 'POST', path: `/operator/catalogue/${typeId(command, target)}/retire` };
    case 'consortium:status':
      return { method: 'GET', path: '/operator/consortium' };
    case 'consortium:init':
      return {
        method: 'POST',
        path: '/operator/consortium/init',
        body: {
          threshold: number(values.threshold),
          founders: (values.founder ?? []).map((founder) => {
            const [member, ...name] = founder.split('=');
            return { member, name: name.join('=') };
          }),
          ...(values.name ? { departmentName: values.name } : {}),
        },
      };
    case 'consortium:join':
      if (!target) throw new Error(`consortium:join needs the governance address\n\n${USAGE}`);
      return { method: 'POST', path: '/operator/consortium/join', body: { governance: target } };
    case 'proposal:list': {
      // --open: only those still open to votes; --before <id>: the page after the newest 100.
      const query = new URLSearchParams({
        ...(values.open ? { state: 'open' } : {}),
        ...(values.before ? { before: values.before } : {}),
      }).toString();
      return { method: 'GET', path: `/operator/consortium/proposals${query ? `?${query}` : ''}` };
    }
    case 'proposal:create':
      return { method: 'POST', path: '/operator/consortium/proposals', body: proposalBody(values) };
    case 'proposal:vote':
      if (!target) throw new Error(`proposal:vote needs a proposal id\n\n${USAGE}`);
      return { method: 'POST', path: `/operator/consortium/proposals/${encodeURIComponent(target)}/votes` };
    case 'approval-policy:list':
      return { method: 'GET', path: '/operator/consortium/approval-policies' };
    case 'approvals:inbox':
      return { method: 'GET', path: '/operator/approvals/inbox' };
    case 'approvals:show':
      return { method: 'GET', path: `/operator/approvals/${applicationId(command, target)}` };
    case 'approvals:expire':
      return { method: 'POST', path: `/operator/approvals/${applicationId(command, target)}/expire` };
    case 'approvals:decide': {
      if (Boolean(values.approve) === Boolean(values.reject))
        throw new Error(`approvals:decide needs --approve or --reject\n\n${USAGE}`);
      return {
        method: 'POST',
        path: `/operator/approvals/${applicationId(command, target)}/decision`,
        body: { approve: Boolean(values.approve), ...(values.reason ? { reasonCode: values.reason } : {}) },
      };
    }
    default:
      throw new Error(command ? `Unknown command ${command}\n\n${USAGE}` : USAGE);
  }
}

function applicationId(command: string, value: string | undefined): string {
  if (!value || !/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new Error(`${command} needs an application id (0x and 64 hex digits)\n\n${USAGE}`);
  return value.toLowerCase();
}

const number = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));

/** The body of proposal:create: only the options given, numbers as numbers; the service validates the rest. */
function proposalBody(values: Record<string, string | string[] | boolean | undefined>): Record<string, unknown> {
  const text = (name: string) => values[name] as string | undefined;
  const body: Record<string, unknown> = {
    kind: text('kind'),
    member: text('member'),
    name: text('name'),
    threshold: number(text('threshold')),
    issuer: text('issuer'),
    credentialType: text('type'),
    relyingParty: text('relying-party'),
    clientId: text('client-id'),
    claims: values['claim'],
    purpose: text('purpose'),
    expiresAt: number(text('expires-at')),
    permissionId: text('permission'),
    schemaDigest: text('schema-digest'),
    version: number(text('version')),
    lifetimeDays: number(text('lifetime-days')),
    issuingDepartment: text('issuing-department'),
    issuingAgency: text('issuing-agency'),
    departments: values['department'],
    required: number(text('required')),
    decisionPeriodSeconds: number(text('decision-period')),
    policyId: text('policy'),
  };
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
}

/** audit:verify reads the database and the chain itself: the check must not depend on the service it checks. */
async function auditVerify(argv: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: unknown }> {
  const { values } = parseArgs({
    args: argv.slice(1),
    options: {
      'rpc-url': { type: 'string' },
      contract: { type: 'string' },
      department: { type: 'string', multiple: true },
    },
  });
  const { verifyAuditTrail } = await import('./audit/index.js');
  const report = await verifyAuditTrail({
    database: env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL }
      : { kind: 'sqlite', path: env.SQLITE_PATH ?? `${env.DATA_DIR ?? './data'}/chancery.sqlite` },
    rpcUrl: values['rpc-url'] ?? env.CHAIN_RPC_URL ?? `http://127.0.0.1:${env.CHAIN_EMBEDDED_PORT ?? 8545}`,
    contract: values.contract ?? (env.CHAIN_AUDIT_ANCHOR_ADDRESS || undefined),
    departments: values.department,
  });
  return { ok: report.ok, output: report };
}

/** The first line of standard input (a password is not put on the command line, where `ps` and history see it). */
async function firstLineOfStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!;
}

export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  readSecret: () => Promise<string> = firstLineOfStdin,
): Promise<{ ok: boolean; output: unknown }> {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) return { ok: true, output: USAGE };
  if (argv[0] === 'audit:verify') return auditVerify(argv, env);
  if (argv[0] === 'citizen:hash-password') {
    const password = await readSecret();
    if (password.length < 8) throw new Error('citizen:hash-password: give a password of at least 8 characters on stdin');
    const { hashCitizenPassword } = await import('./issuer/authorization-server/citizen-authenticator.js');
    return { ok: true, output: { password: await hashCitizenPassword(password) } };
  }
  const request = requestFor(argv);
  const base = (env.CHANCERY_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`).replace(/\/$/, '');
  const headers = {
    authorization: `Bearer ${operatorKey(env)}`,
    ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  let response: Response;
  try {
    response = await fetch(base + request.path, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    });
  } catch (error) {
    // fetch says only "fetch failed": name the service asked and why (refused, unknown host), so a wrong or unset
    // CHANCERY_URL is seen at once.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot reach the service at ${base} (${cause?.code ?? cause?.message ?? (error as Error).message}); is it running, and is CHANCERY_URL right?`,
    );
  }
  const text = await response.text();
  let output: unknown = text;
  try {
    output = JSON.parse(text);
  } catch {
    // plain text answer
  }
  return { ok: response.ok, output };
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly) {
  try {
    // As the service does: a .env file in the working directory fills in what the environment does not set.
    if (existsSync('.env')) process.loadEnvFile('.env');
    const { ok, output } = await runCli(process.argv.slice(2), process.env);
    process.stdout.write((typeof output === 'string' && output === USAGE ? output : JSON.stringify(output, null, 2)) + '\n');
    process.exitCode = ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
