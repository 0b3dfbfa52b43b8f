import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { Database, isUniqueViolation, type Tx } from '../persistence/index.js';
import { CredentialTypeEntity, CredentialTypeVersionEntity } from './catalogue.entity.js';
import { schemaDigest, type CatalogueEntry, type CatalogueTypeStatus, type LicenceTypeDefinition } from './catalogue.js';

/** The create or publish lost to another writer (same id or vcType, or a version published meanwhile). */
export class CatalogueConflict extends Error {}

/** A catalogue change as it commits: ids, version and digest only. */
export interface CatalogueChange {
  change: 'created' | 'versioned' | 'retired';
  typeId: string;
  version: number;
  schemaDigest: string;
  status: CatalogueTypeStatus;
}

/**
 * The caller's own write for a change (the operator's audit entry), run inside the change's transaction:
 * both commit or neither. Database writes only: on SQLite the transaction holds the one connection.
 */
export type RecordCatalogueChange = (tx: Tx, change: CatalogueChange) => Promise<void>;

/**
 * The fingerprint of a catalogue's content (id, version, status of every type), as
 * `CatalogueRepository.fingerprint` reads it from the table; sorted here, whatever the database's collation.
 */
export function catalogueFingerprint(types: { id: string; version: number; status: string }[]): string {
  return [...types]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((type) => `${type.id}@${type.version}:${type.status}`)
    .join(',');
}

/**
 * Storage of the run-time catalogue. Concurrency contracts (SQLite and PostgreSQL):
 * - `seed`: any number of replicas may seed together; each type is inserted once, a present one is left as is.
 * - `create`: exactly one of several concurrent creators of an id (or vcType) wins; the others get CatalogueConflict.
 * - `publishVersion`: exactly one of several concurrent publishers based on the same version wins.
 * - `retire`: a conditional UPDATE; true only for the caller that changed an active type.
 * `record`, when given, runs in the transaction of a change that happened (not of a create or publish that
 * lost, nor of a retire that found the type retired already).
 */
@Injectable()
export class CatalogueRepository {
  constructor(private readonly db: Database) {}

  /** Inserts the types that are not there yet (insert-or-ignore: replicas starting together); present ones stay as they are. */
  async seed(definitions: LicenceTypeDefinition[], now = new Date()): Promise<void> {
    for (const definition of definitions) {
      await this.db.transaction(async (tx) => {
        await tx.createQueryBuilder().insert().into(CredentialTypeEntity).values(typeRow(definition, now)).orIgnore().execute();
        // The type may have been there already under another definition; its version 1 is then left alone.
        const type = await tx.getRepository(CredentialTypeEntity).findOneBy({ id: definition.id });
        if (type?.vcType !== definition.vcType) return;
        await tx
          .createQueryBuilder()
          .insert()
          .into(CredentialTypeVersionEntity)
          .values(versionRow(definition, 1, 'seed', now))
          .orIgnore()
          .execute();
      });
    }
  }

  /** Every type with its current definition. */
  async load(): Promise<CatalogueEntry[]> {
    return this.db.use(undefined, async (m) => {
      const types = await m.getRepository(CredentialTypeEntity).find({ order: { id: 'ASC' } });
      const versions = await m
        .getRepository(CredentialTypeVersionEntity)
        .createQueryBuilder('v')
        .innerJoin(CredentialTypeEntity, 't', 't.id = v.type_id AND t.current_version = v.version')
        .getMany();
      const byType = new Map(versions.map((version) => [version.typeId, version]));
      return types.flatMap((type) => {
        const version = byType.get(type.id);
        return version ? [{ definition: version.definition, status: type.status, version: type.currentVersion }] : [];
      });
    });
  }

  /** A cheap fingerprint of the table (id, version, status of every type): replicas reload when it changes. */
  async fingerprint(): Promise<string> {
    const rows = await this.db.use(undefined, (m) =>
      m
        .getRepository(CredentialTypeEntity)
        .find({ select: { id: true, currentVersion: true, status: true }, order: { id: 'ASC' } }),
    );
    return catalogueFingerprint(rows.map((row) => ({ id: row.id, version: row.currentVersion, status: row.status })));
  }

  type(id: string): Promise<CredentialTypeEntity | null> {
    return this.db.use(undefined, (m) => m.getRepository(CredentialTypeEntity).findOneBy({ id }));
  }

  versions(typeId: string): Promise<CredentialTypeVersionEntity[]> {
    return this.db.use(undefined, (m) =>
      m.getRepository(CredentialTypeVersionEntity).find({ where: { typeId }, order: { version: 'ASC' } }),
    );
  }

  async create(
    definition: LicenceTypeDefinition,
    publishedBy: string,
    record?: RecordCatalogueChange,
    now = new Date(),
  ): Promise<void> {
    try {
      await this.db.transaction(async (tx) => {
        await tx.getRepository(CredentialTypeEntity).insert(typeRow(definition, now));
        await tx.getRepository(CredentialTypeVersionEntity).insert(versionRow(definition, 1, publishedBy, now));
        await record?.(tx, { change: 'created', ...committed(definition, 1), status: 'active' });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new CatalogueConflict(`A type with id ${definition.id} or vcType ${definition.vcType} exists`);
      throw error;
    }
  }

  /** Publishes `definition` as version `basedOn + 1`; CatalogueConflict when the current version is not `basedOn`. */
  async publishVersion(
    definition: LicenceTypeDefinition,
    basedOn: number,
    publishedBy: string,
    record?: RecordCatalogueChange,
    now = new Date(),
  ): Promise<number> {
    const version = basedOn + 1;
    try {
      await this.db.transaction(async (tx: Tx) => {
        await tx.getRepository(CredentialTypeVersionEntity).insert(versionRow(definition, version, publishedBy, now));
        const result = await tx.getRepository(CredentialTypeEntity).update(
          { id: definition.id, currentVersion: basedOn },
          {
            currentVersion: version,
            catalogueCode: definition.catalogueCode ?? null,
            holderType: definition.holderType,
            updatedAt: now,
          },
        );
        if (result.affected !== 1) throw new CatalogueConflict(`${definition.id} is no longer at version ${basedOn}`);
        await record?.(tx, { change: 'versioned', ...committed(definition, version), status: 'active' });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new CatalogueConflict(`Version ${version} of ${definition.id} was published meanwhile`);
      throw error;
    }
    return version;
  }

  async retire(id: string, record?: RecordCatalogueChange, now = new Date()): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const result = await tx
        .getRepository(CredentialTypeEntity)
        .update({ id, status: 'active' }, { status: 'retired', updatedAt: now });
      if (result.affected !== 1) return false;
      if (record) {
        const type = await tx.getRepository(CredentialTypeEntity).findOneByOrFail({ id });
        const version = await tx
          .getRepository(CredentialTypeVersionEntity)
          .findOneByOrFail({ typeId: id, version: type.currentVersion });
        const change = { typeId: id, version: version.version, schemaDigest: version.schemaDigest };
        await record(tx, { change: 'retired', ...change, status: 'retired' });
      }
      return true;
    });
  }
}

/** The id, version and schema digest a create or publish commits (the digest as `versionRow` stores it). */
const committed = (definition: LicenceTypeDefinition, version: number) => ({
  typeId: definition.id,
  version,
  schemaDigest: schemaDigest(definition),
});

function typeRow(definition: LicenceTypeDefinition, now: Date): CredentialTypeEntity {
  return {
    id: definition.id,
    vcType: definition.vcType,
    catalogueCode: definition.catalogueCode ?? null,
    holderType: definition.holderType,
    status: 'active',
    currentVersion: 1,
    createdAt: now,
    updatedAt: now,
  };
}

function versionRow(
  definition: LicenceTypeDefinition,
  version: number,
  publishedBy: string,
  now: Date,
): QueryDeepPartialEntity<CredentialTypeVersionEntity> {
  // The definition is a JSON column (its transformer writes text); TypeORM's deep-partial type cannot see that.
  const row: CredentialTypeVersionEntity = {
    typeId: definition.id,
    version,
    definition,
    schemaDigest: schemaDigest(definition),
    publishedBy,
    createdAt: now,
  };
  return row as QueryDeepPartialEntity<CredentialTypeVersionEntity>;
}
