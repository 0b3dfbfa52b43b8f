export { Database, type Tx } from './database.js';
export { dataSourceOptions, openDataSource, secureDataDir, secureSqliteFiles } from './data-source.js';
export { PersistenceModule } from './persistence.module.js';
export { timestampType, jsonColumn } from './columns.js';
export { isUniqueViolation } from './unique-violation.js';
export { IdempotencyRecordEntity, type IdempotencyState } from './idempotency.entity.js';
export { IdempotencyRepository } from './idempotency.repository.js';
export { SqlDriver, type SqlExecutor, type SqlPart } from './driver.js';
export { GroupCommit, MAX_GROUP, type GroupWrite } from './group-commit.js';
export {
  CHANGE_FEED_APPLICATION_NAME,
  PgChangeFeed,
  SqliteChangeFeed,
  type ChangeEvent,
  type ChangeFeed,
  type WatchedTable,
} from './change-feed.js';
export { timeOrderedId } from './row-ids.js';
export { RememberedRows, type RememberedSource } from './remembered-rows.js';
