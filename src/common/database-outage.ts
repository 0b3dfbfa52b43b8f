import { Injectable, Logger } from '@nestjs/common';

/** PostgreSQL SQLSTATEs of a lost or refused connection (class 08, admin shutdown 57P0x, too many connections). */
const PG_CONNECTIVITY_CODES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // insufficient_resources, disk_full, out_of_memory: the server cannot take the write now, not the client's fault.
  '53000',
  '53100',
  '53200',
  // read_only_sql_transaction: the address reached a standby (a failover under way or a stale DNS answer).
  '25006',
  // "database … is not currently accepting connections" (ALLOW_CONNECTIONS false)
  '55000',
  // query_canceled: our statement_timeout (or an operator) ended a statement the server did not finish in time.
  '57014',
]);
const NODE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const MESSAGE_PATTERNS = [
  /Connection terminated/i,
  /connection timeout/i,
  // pg's query_timeout and pg-pool's connectionTimeoutMillis: a server that stopped answering.
  /^Query read timeout$/,
  /^timeout exceeded when trying to connect$/,
  /Client has encountered a connection error/i,
  /not currently accepting connections/i,
  /Cannot use a pool after calling end/i,
];

/** PostgreSQL's query_canceled (57014): a statement_timeout ended a statement while the server still answers. */
export function isStatementTimeout(error: unknown): boolean {
  const { code, driverError } = (error ?? {}) as { code?: unknown; driverError?: { code?: unknown } };
  return code === '57014' || driverError?.code === '57014';
}

/**
 * True when an error (or what it wraps: TypeORM's driverError, AggregateError members) says the
 * database cannot be reached, as opposed to a query that failed: the client may retry later.
 */
export function isDatabaseConnectivityError(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  // `cause` is not followed: a chain or Redis client's socket error must not read as a database outage.
  const { code, message, driverError, errors, syscall, statusCode } = error as {
    syscall?: unknown;
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    errors?: unknown;
  };
  // Fastify's own errors (a client aborting its request is ECONNRESET too) carry a statusCode.
  if (statusCode !== undefined) return false;
  if (typeof code === 'string') {
    if (PG_CONNECTIVITY_CODES.has(code)) return true;
    // A socket of the database driver: it names the system call (connect, read, write).
    if (NODE_SOCKET_CODES.has(code) && typeof syscall === 'string') return true;
    if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code.startsWith('SQLITE_IOERR')) return true;
    if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_LOCKED') return true;
    // A full disk, or a file system remounted read-only: the writes fail until the operator makes room.
    if (code === 'SQLITE_FULL' || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) return true;
  }
  // pg raises plain Errors with these messages when a socket dies mid-query.
  if (typeof message === 'string' && code === undefined && MESSAGE_PATTERNS.some((pattern) => pattern.test(message))) {
    return true;
  }
  if (Array.isArray(errors) && errors.some((member) => isDatabaseConnectivityError(member, depth + 1))) return true;
  return isDatabaseConnectivityError(driverError, depth + 1);
}

/** PostgreSQL SQLSTATEs of a transaction that lost to a concurrent one (deadlock detected, serialization failure). */
const PG_CONFLICT_CODES = new Set(['40P01', '40001']);

/**
 * True when a statement failed only because a concurrent transaction held what it needed (PostgreSQL chose it
 * as a deadlock's victim, or could not serialise it): nothing is wrong with the request or the database, and
 * the same request again is expected to succeed. Not an outage.
 */
export function isTransientConflict(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  const { code, driverError } = error as { code?: unknown; driverError?: unknown };
  if (typeof code === 'string' && PG_CONFLICT_CODES.has(code)) return true;
  return isTransientConflict(driverError, depth + 1);
}

/**
 * Whether the database is reachable, as far as requests can tell. One log line per change of state
 * (down, then up again), never a stack per request. The health module probes while it is down.
 */
@Injectable()
export class DatabaseOutage {
  private readonly logger = new Logger('Database');
  private downSince: number | undefined;
  private readonly listeners = new Set<(down: boolean) => void>();

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  onChange(listener: (down: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reportDown(error: unknown): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    const code =
      (error as { code?: unknown; driverError?: { code?: unknown } })?.code ??
      (error as { driverError?: { code?: unknown } })?.driverError?.code;
    this.logger.warn({ event: 'database_down', code: typeof code === 'string' ? code : undefined }, 'database unavailable');
    for (const listener of this.listeners) listener(true);
  }

  reportUp(): void {
    if (this.downSince === undefined) return;
    const downForMs = Date.now() - this.downSince;
    this.downSince = undefined;
    this.logger.log({ event: 'database_up', downForMs }, 'database reachable again');
    for (const listener of this.listeners) listener(false);
  }
}

/** PostgreSQL SQLSTATEs that mean the client sent a value the column cannot hold (a client's mistake). */
const PG_BAD_VALUE_CODES = new Set(['22001', '22003', '22021', '22P02', '22P05', '22007', '22008']);

/**
 * Maps a database error caused by the request's data to an HTTP status: 409 for a unique or primary-key
 * violation (two requests racing to create the same thing), 400 for a value the column refuses (a NUL
 * byte, an over-long string, a number out of range). Undefined for anything else. A safety net: code that
 * knows a conflict is possible answers it itself with a precise message.
 */
export function databaseClientErrorStatus(error: unknown, depth = 0): 400 | 409 | undefined {
  if (depth > 3 || error === null || typeof error !== 'object') return undefined;
  const { code, driverError } = error as { code?: unknown; driverError?: unknown };
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 409;
  if (typeof code === 'string' && PG_BAD_VALUE_CODES.has(code)) return 400;
  return databaseClientErrorStatus(driverError, depth + 1);
}
