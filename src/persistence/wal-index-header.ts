import { fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';

/** One copy of the WAL-index header: iVersion, unused, iChange, isInit, bigEndCksum, szPage, mxFrame, nPage, aFrameCksum, aSalt, aCksum. */
const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;

/**
 * Descriptors of `-shm` files by device and inode, opened once per process and never closed: closing any
 * descriptor of a file drops every POSIX lock the process holds on it, those of every SQLite connection of
 * the process included, whichever code opened them (https://www.sqlite.org/howtocorrupt.html, 2.2). A
 * descriptor pins its inode, so the number cannot be reused by a new file while it is in this map: a
 * database closed and opened again (its `-shm` deleted and made anew) gets a descriptor of its new file.
 * One descriptor per `-shm` file the process ever watched; the operating system closes them at exit.
 */
const descriptors = new Map<string, number>();

/** The descriptor of the file now at `path`, opened once per file. */
function descriptorOf(path: string): number {
  const { dev, ino } = statSync(path);
  const known = descriptors.get(`${dev}:${ino}`);
  if (known !== undefined) return known;
  const fd = openSync(path, 'r');
  // Replaced between the stat and the open: keep it under the file it really is (never closed, see above).
  const opened = fstatSync(fd);
  descriptors.set(`${opened.dev}:${opened.ino}`, fd);
  return fd;
}

/**
 * The WAL-index header at the start of a SQLite database's `-shm` file (https://www.sqlite.org/walformat.html,
 * unix VFS), read with one pread (~3 µs cold on these machines, against ~12 µs for a statement opening a read
 * transaction). Every commit of every connection of every process rewrites it (it holds the commit counter
 * `iChange`, the last valid frame and the salts), both copies, the second first; a reader trusts it when the two
 * copies agree. While it reads the same, no connection has committed since: SQLite's own `data_version` moves
 * only when the header it reads at the start of a read transaction changed. A pread sees what other processes
 * wrote through their shared mapping (one page cache).
 *
 * Make one per open connection, with the database's absolute path, after the connection opened the file: the
 * `-shm` is found next to the database's real path (SQLite resolves symbolic links) at the first read and kept.
 * SQLite deletes a `-shm` only when the last connection to the database closes, and no other process can
 * while ours holds its shared lock on it, so the descriptor stays the live file for as long as the connection
 * is open (removing it by hand meanwhile corrupts the database whatever we read).
 */
export class WalIndexHeader {
  private readonly buffer = Buffer.alloc(2 * HEADER_BYTES);
  private fd: number | undefined;

  constructor(private readonly databasePath: string) {}

  /** The header, or undefined when it cannot be read, is not initialised, or its copies differ (being written). */
  read(): Buffer | undefined {
    try {
      this.fd ??= descriptorOf(`${realpathSync(this.databasePath)}-shm`);
      if (readSync(this.fd, this.buffer, 0, this.buffer.length, 0) !== this.buffer.length) return undefined;
    } catch {
      return undefined; // no -shm yet (nothing read through the WAL so far): the statement answers
    }
    const first = this.buffer.subarray(0, HEADER_BYTES);
    if (first[IS_INIT_OFFSET] !== 1 || !first.equals(this.buffer.subarray(HEADER_BYTES))) return undefined;
    return Buffer.from(first);
  }
}
