export { Database, type Tx } from './database.js';
export { dataSourceOptions, openDataSource, secureDataDir, secureSqliteFiles } from './data-source.js';
export { PersistenceModule } from './persistence.module.js';
export { timestampType, jsonColumn } from './columns.js';
export { isUniqueViolation } from './unique-violation.js';
export { IdempotencyRecordEntity, IdempotencyRepository, type IdempotencyState } from './idempotency.js';
