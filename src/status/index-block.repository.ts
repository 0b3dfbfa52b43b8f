import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../persistence/index.js';
import { INDEX_BLOCK } from './index-blocks.js';

/** Reserved blocks of status indices (status_index_blocks), with prepared statements. */
@Injectable()
export class IndexBlockRepository {
  constructor(private readonly db: Database) {}

  /** Blocks of a list already reserved (by any process, ever). */
  async reservedBlocks(tx: Tx, listId: string): Promise<number[]> {
    const sql = await this.db.driver.on(tx);
    const rows = await sql.all<{ block: number }>(this.db.driver.sql('SELECT block FROM status_index_blocks WHERE list_id = ?'), [
      listId,
    ]);
    return rows.map((row) => Number(row.block));
  }

  /**
   * Reserves a block with one conditional insert: false when another process holds it already (the
   * primary key decides, also between replicas), so no two processes ever hand out indices of one block.
   */
  async reserveBlock(tx: Tx, listId: string, block: number, owner: string, now: Date): Promise<boolean> {
    const { driver } = this.db;
    const sql = await driver.on(tx);
    const changed = await sql.run(
      driver.sql(
        'INSERT INTO status_index_blocks (list_id, block, reserved_by, reserved_at) VALUES (?, ?, ?, ?) ON CONFLICT (list_id, block) DO NOTHING',
      ),
      [listId, block, owner, driver.date(now)],
    );
    if (changed !== 1) return false;
    // The list counts the indices reserved in its blocks (not those written), so group commits of
    // issuances never touch the list's row.
    await sql.run(driver.sql('UPDATE status_lists SET used = used + ? WHERE id = ?'), [INDEX_BLOCK, listId]);
    return true;
  }

  /** Indices of a range already written (entries older than block reservation, or another path). */
  async indicesIn(tx: Tx, listId: string, from: number, to: number): Promise<number[]> {
    const sql = await this.db.driver.on(tx);
    const rows = await sql.all<{ idx: number }>(
      this.db.driver.sql('SELECT idx FROM status_entries WHERE list_id = ? AND idx >= ? AND idx < ?'),
      [listId, from, to],
    );
    return rows.map((row) => Number(row.idx));
  }
}
