import { closeSync, openSync, readSync, realpathSync } from 'node:fs';

/** One copy of the WAL-index header: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame, nPage, aFrameCksum, aSalt, aCksum. */
const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;

/**
 * Descriptors of `-shm` files by real path, shared by the headers of this process and closed when the last
 * one is released. Closing any descriptor of a file drops every POSIX lock the process holds on it, those of
 * SQLite's connections included (https://www.sqlite.org/howtocorrupt.html, 2.2): a header is released only
 * after its connection closed, and the descriptor closes only once no header of the process reads the file.
 */
const descriptors = new Map<string, { fd: number; users: number }>();

/**
 * The WAL-index header at the start of a SQLite database's `-shm` file (https://www.sqlite.org/walformat.html,
 * unix VFS), read with one pread (~3 µs cold on these machines, against ~12 µs for a statement opening a read
 * transaction). Every commit of every connection of every process rewrites it (it holds the commit counter
 * `iChange`, the last valid frame and the salts), both copies, the second first; a reader trusts it when the two
 * copies agree. While it reads the same, no connection has committed since: SQLite's own `data_version` moves
 * only when the header it reads at the start of a read transaction changed. A pread sees what other processes
 * wrote through their shared mapping (one page cache).
 *
 * The file is the one SQLite uses: next to the database's real path (SQLite resolves symbolic links), opened
 * while the connection is open. SQLite deletes a `-shm` only when the last connection to the database closes,
 * and no other process can while ours holds its shared lock on it, so the descriptor stays the live file for
 * as long as the connection is open (removing it by hand meanwhile corrupts the database whatever we read).
 */
export class WalIndexHeader {
  private readonly buffer = Buffer.alloc(2 * HEADER_BYTES);
  private path: string | undefined;
  private fd: number | undefined;
  private released = false;

  constructor(private readonly databasePath: string) {}

  /** The header, or undefined when it cannot be read, is not initialised, or its copies differ (being written). */
  read(): Buffer | undefined {
    const fd = this.descriptor();
    if (fd === undefined) return undefined;
    try {
      if (readSync(fd, this.buffer, 0, this.buffer.length, 0) !== this.buffer.length) return undefined;
    } catch {
      return undefined;
    }
    const first = this.buffer.subarray(0, HEADER_BYTES);
    if (first[IS_INIT_OFFSET] !== 1 || !first.equals(this.buffer.subarray(HEADER_BYTES))) return undefined;
    return Buffer.from(first);
  }

  /** After the connection closed: this header reads nothing more; the last user of the file closes it. */
  release(): void {
    this.released = true;
    const path = this.path;
    this.path = this.fd = undefined;
    const shared = path === undefined ? undefined : descriptors.get(path);
    if (!shared || --shared.users > 0) return;
    descriptors.delete(path!);
    closeSync(shared.fd);
  }

  private descriptor(): number | undefined {
    if (this.fd !== undefined || this.released) return this.fd;
    try {
      const path = `${realpathSync(this.databasePath)}-shm`;
      let shared = descriptors.get(path);
      if (!shared) {
        shared = { fd: openSync(path, 'r'), users: 0 };
        descriptors.set(path, shared);
      }
      shared.users++;
      this.path = path;
      return (this.fd = shared.fd);
    } catch {
      return undefined; // no -shm yet (nothing read through WAL so far): the statement answers
    }
  }
}
