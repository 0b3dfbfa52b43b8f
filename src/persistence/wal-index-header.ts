import { closeSync, openSync, readSync } from 'node:fs';

/** One copy of the WAL-index header: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame, nPage, aFrameCksum, aSalt, aCksum. */
const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;

/**
 * The WAL-index header at the start of a SQLite database's `-shm` file (https://www.sqlite.org/walformat.html,
 * unix VFS), read with one pread. Every connection of every process rewrites it at each commit (it holds
 * the commit counter `iChange`, the last valid frame and the salts), both copies, the second first; readers
 * trust it when the two copies agree. While it reads the same, no connection has committed since. A pread
 * sees what other processes wrote through their shared mapping (one page cache).
 */
export class WalIndexHeader {
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(2 * HEADER_BYTES);

  constructor(private readonly shmPath: string) {}

  /** The header, or undefined when it cannot be read, is not initialised, or its copies differ (being written). */
  read(): Buffer | undefined {
    try {
      this.fd ??= openSync(this.shmPath, 'r');
      if (readSync(this.fd, this.buffer, 0, this.buffer.length, 0) !== this.buffer.length) return undefined;
    } catch {
      return undefined;
    }
    const first = this.buffer.subarray(0, HEADER_BYTES);
    if (first[IS_INIT_OFFSET] !== 1 || !first.equals(this.buffer.subarray(HEADER_BYTES))) return undefined;
    return Buffer.from(first);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
