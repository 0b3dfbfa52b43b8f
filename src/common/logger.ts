import type { LoggerService, LogLevel } from '@nestjs/common';
import { pino, type Logger as PinoLogger } from 'pino';
import { merged } from './merged.js';

/** Paths that must never reach a log line, whatever object a caller logs. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers.dpop',
  'authorization',
  'body',
  // A failed query (TypeORM QueryFailedError, PostgreSQL's error) carries the values it bound and the row it
  // hit ("Key (x)=(…)"): values of claims, names, sealed secrets. The message and the SQL stay for debugging.
  'err.parameters',
  'err.detail',
  'err.driverError.parameters',
  'err.driverError.detail',
  // PostgreSQL's `where` quotes input it could not read (a JSON value, for one); an AggregateError's members and
  // a cause are serialised beside the error, each with the same fields.
  'err.where',
  'err.driverError.where',
  'err.aggregateErrors[*].parameters',
  'err.aggregateErrors[*].detail',
  'err.aggregateErrors[*].where',
  'err.cause.parameters',
  'err.cause.detail',
  'err.cause.where',
];

/** The service's root logger: JSON lines on stdout, with redaction. */
export function createRootLogger(level: string, destination: pino.DestinationStream = process.stdout): PinoLogger {
  return pino({ level, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } }, destination);
}

const NEST_TO_PINO: Record<LogLevel, 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal'> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'trace',
  fatal: 'fatal',
};

/**
 * Nest's LoggerService on pino (replaces nestjs-pino, whose releases need Node 22 or Nest ≤ 11).
 * Nest calls `logger.level(message, ...optional)` where the last string is the context and, for
 * errors, a string before it may be a stack; an object message is merged into the line.
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: PinoLogger) {}

  log(message: unknown, ...optional: unknown[]) {
    this.write('log', message, optional);
  }
  error(message: unknown, ...optional: unknown[]) {
    this.write('error', message, optional);
  }
  warn(message: unknown, ...optional: unknown[]) {
    this.write('warn', message, optional);
  }
  debug(message: unknown, ...optional: unknown[]) {
    this.write('debug', message, optional);
  }
  verbose(message: unknown, ...optional: unknown[]) {
    this.write('verbose', message, optional);
  }
  fatal(message: unknown, ...optional: unknown[]) {
    this.write('fatal', message, optional);
  }

  private write(level: LogLevel, message: unknown, optional: unknown[]) {
    const target = NEST_TO_PINO[level];
    if (!this.pino.isLevelEnabled(target)) return;
    const rest = [...optional];
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (message instanceof Error) {
      this.pino[target](merged(fields, { err: message }), message.message);
    } else if (message !== null && typeof message === 'object') {
      const text = typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
      this.pino[target](merged(fields, message), text);
    } else {
      // Nest passes an error's stack as the string before the context.
      if (level === 'error' && typeof rest[0] === 'string') fields['stack'] = rest.shift();
      this.pino[target](fields, String(message));
    }
  }
}
