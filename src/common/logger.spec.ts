import { Writable } from 'node:stream';
import { QueryFailedError } from 'typeorm';
import { createRootLogger, PinoNestLogger } from './logger.js';

/** The lines a root logger writes, parsed. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createRootLogger('info', destination) };
}

describe('root logger redaction', () => {
  it('keeps the values a failed query bound, and the row PostgreSQL names, out of an error line', () => {
    const { lines, logger } = capture();
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      code: '23505',
      detail: 'Key (licence_number)=(110101199001311234) already exists.',
      parameters: ['110101199001311234', 'Li Hua'],
    });
    const error = new QueryFailedError('INSERT INTO "t"("a","b") VALUES ($1, $2)', ['110101199001311234', 'Li Hua'], driverError);
    // As the exception filter logs an unhandled error, through Nest's logger on pino.
    new PinoNestLogger(logger).error({ err: error, requestId: 'r1' }, 'ProblemFilter');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('110101199001311234');
    expect(text).not.toContain('Li Hua');
    // What helps debugging stays: the message and the SQL.
    expect(text).toContain('duplicate key value violates unique constraint');
    expect(text).toContain('INSERT INTO');
  });

  it("keeps PostgreSQL's quote of unreadable input, and the values inside an AggregateError's members, out too", () => {
    const { lines, logger } = capture();
    const unreadable = Object.assign(new Error('invalid input syntax for type json'), {
      code: '22P02',
      where: 'JSON data, line 1: {"name":"Li Hua",...',
    });
    const both = new AggregateError(
      [Object.assign(new Error('duplicate key'), { detail: 'Key (licence_number)=(110101199001311234) already exists.' })],
      'two writes failed',
    );
    logger.error({ err: unreadable }, 'one');
    logger.error({ err: both }, 'two');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('Li Hua');
    expect(text).not.toContain('110101199001311234');
    expect(text).toContain('invalid input syntax for type json');
    expect(text).toContain('duplicate key');
  });
});
