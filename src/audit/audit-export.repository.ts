import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/index.js';
import { Database, dataSourceOptions } from '../persistence/index.js';
import { ChainContractEntity, ChainContractRepository } from '../chain/index.js';
import { AuditAnchorEntity, AuditEntryEntity, AuditHeadEntity } from './audit.entity.js';
import { AuditRepository } from './audit.repository.js';

/**
 * The database as audit:verify reads it: its own connection, outside the service, with the audit tables
 * and chain_contracts only; no migration is run and nothing is written.
 */
export async function openAuditExport(database: AppConfig['database']) {
  const entities = [AuditEntryEntity, AuditHeadEntity, AuditAnchorEntity, ChainContractEntity];
  const dataSource = new DataSource(dataSourceOptions(database, entities, []));
  await dataSource.initialize();
  const db = new Database(dataSource);
  return {
    audit: new AuditRepository(db),
    contracts: new ChainContractRepository(db),
    close: () => dataSource.destroy(),
  };
}
