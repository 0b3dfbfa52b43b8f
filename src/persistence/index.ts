export { Database, type Tx } from './database.js';
export { dataSourceOptions, openDataSource } from './data-source.js';
export { PersistenceModule } from './persistence.module.js';
export { timestampType } from './columns.js';
