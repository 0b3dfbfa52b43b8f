import { fstatSync, openSync, readSync, realpathSync } from 'node:fs';

/** One copy of the WAL-index header: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame, nPage, aFrameCksum, aSalt, aCksum. */
const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;

/**
 * Descriptors of `-shm` files by real path, opened once per process and never closed: closing any
 * descriptor of a file drops every POSIX lock the process holds on it, those of SQLite's own connections
 * included (https://www.sqlite.org/howtocorrupt.html, 2.2). The operating system closes them at exit.
 */
const descriptors = new Map<string, number>();

/**
 * The WAL-index header at the start of a SQLite database's `-shm` file (https://www.sqlite.org/walformat.html,
 * unix VFS), read with one pread. Every connection of every process rewrites it at each commit (it holds
 * the commit counter `iChange`, the last valid frame and the salts), both copies, the second first; readers
 * trust it when the two copies agree. While it reads the same, no connection has committed since. A pread
 * sees what other processes wrote through their shared mapping (one page cache). The file is the one
 * SQLite uses: next to the database's real path (SQLite resolves symbolic links), and still linked.
 */
export class WalIndexHeader {
  private readonly buffer = Buffer.alloc(2 * HEADER_BYTES);
  private fd: number | undefined;

  constructor(private readonly databasePath: string) {}

  /** The header, or undefined when it cannot be read, is not initialised, or its copies differ (being written). */
  read(): Buffer | undefined {
    try {
      const fd = this.descriptor();
      if (readSync(fd, this.buffer, 0, this.buffer.length, 0) !== this.buffer.length) return undefined;
      // Unlinked (deleted by hand): whoever opens the database now uses another file.
      if (fstatSync(fd).nlink === 0) return undefined;
    } catch {
      return undefined;
    }
    const first = this.buffer.subarray(0, HEADER_BYTES);
    if (first[IS_INIT_OFFSET] !== 1 || !first.equals(this.buffer.subarray(HEADER_BYTES))) return undefined;
    return Buffer.from(first);
  }

  private descriptor(): number {
    if (this.fd !== undefined) return this.fd;
    const path = `${realpathSync(this.databasePath)}-shm`;
    let fd = descriptors.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      descriptors.set(path, fd);
    }
    return (this.fd = fd);
  }
}
