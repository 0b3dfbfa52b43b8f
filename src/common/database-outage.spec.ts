import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isDatabaseConnectivityError, isTransientConflict } from './database-outage.js';

describe('isDatabaseConnectivityError', () => {
  it('recognises a real SQLITE_BUSY, also wrapped as TypeORM does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-busy-'));
    const holder = new Database(join(dir, 'db.sqlite'));
    const other = new Database(join(dir, 'db.sqlite'), { timeout: 0 });
    try {
      holder.exec('CREATE TABLE t (x INTEGER)');
      holder.exec('BEGIN EXCLUSIVE');
      let busy: unknown;
      try {
        other.exec('INSERT INTO t VALUES (1)');
      } catch (error) {
        busy = error;
      }
      expect((busy as { code: string }).code).toMatch(/^SQLITE_BUSY/);
      expect(isDatabaseConnectivityError(busy)).toBe(true);
      expect(isDatabaseConnectivityError({ name: 'QueryFailedError', driverError: busy })).toBe(true);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recognises a real SQLITE_FULL (a disk with no room) and a read-only file, also wrapped as TypeORM does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chancery-full-'));
    const db = new Database(join(dir, 'db.sqlite'));
    try {
      db.exec('CREATE TABLE t (x BLOB)');
      // The file may not grow past its present pages: the next insert that needs a page fails as a full disk does.
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      let full: unknown;
      try {
        db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024));
      } catch (error) {
        full = error;
      }
      expect((full as { code: string }).code).toBe('SQLITE_FULL');
      expect(isDatabaseConnectivityError(full)).toBe(true);
      expect(isDatabaseConnectivityError({ name: 'QueryFailedError', driverError: full })).toBe(true);
      expect(isDatabaseConnectivityError({ code: 'SQLITE_READONLY_DBMOVED' })).toBe(true);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recognises a PostgreSQL server out of disk or memory, and a standby reached during a failover', () => {
    expect(isDatabaseConnectivityError({ code: '53100', message: 'could not extend file: No space left on device' })).toBe(true);
    expect(isDatabaseConnectivityError({ code: '53200', message: 'out of memory' })).toBe(true);
    expect(
      isDatabaseConnectivityError({
        driverError: { code: '25006', message: 'cannot execute INSERT in a read-only transaction' },
      }),
    ).toBe(true);
  });

  it('recognises PostgreSQL connectivity failures', () => {
    expect(isDatabaseConnectivityError({ code: '57P01', message: 'terminating connection due to administrator command' })).toBe(
      true,
    );
    expect(isDatabaseConnectivityError({ code: '55000', message: 'database "x" is not currently accepting connections' })).toBe(
      true,
    );
    expect(isDatabaseConnectivityError(new Error('Connection terminated unexpectedly'))).toBe(true);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    expect(isDatabaseConnectivityError(new AggregateError([refused]))).toBe(true);
    // A server that stopped answering: our query and connect timeouts, and its own statement timeout.
    expect(isDatabaseConnectivityError({ driverError: new Error('Query read timeout') })).toBe(true);
    expect(isDatabaseConnectivityError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseConnectivityError({ code: '57014', message: 'canceling statement due to statement timeout' })).toBe(true);
  });

  it('does not mistake query errors, client aborts or other clients for an outage', () => {
    expect(isDatabaseConnectivityError({ code: '23505', message: 'duplicate key value' })).toBe(false);
    expect(isDatabaseConnectivityError({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(false);
    // Fastify: the client went away mid-body.
    expect(isDatabaseConnectivityError(Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 }))).toBe(false);
    expect(isDatabaseConnectivityError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))).toBe(false);
    // A chain or Redis client's socket error wrapped as a cause.
    expect(isDatabaseConnectivityError(new Error('fetch failed', { cause: { code: 'ECONNREFUSED', syscall: 'connect' } }))).toBe(
      false,
    );
  });
});

describe('isTransientConflict', () => {
  it("knows PostgreSQL's deadlock victim and serialization failure, wrapped by TypeORM or not, and nothing else", () => {
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(isTransientConflict(deadlock)).toBe(true);
    expect(isTransientConflict({ message: 'QueryFailedError', driverError: { code: '40001' } })).toBe(true);
    expect(isTransientConflict(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isTransientConflict(Object.assign(new Error('refused'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(false);
    expect(isTransientConflict(undefined)).toBe(false);
    // Not an outage either: no database_down line for a conflict.
    expect(isDatabaseConnectivityError(deadlock)).toBe(false);
  });
});
