import { Column, Entity, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../persistence/index.js';
import type { CatalogueTypeStatus, HolderType, LicenceTypeDefinition } from './catalogue.js';

/** A credential type of the run-time catalogue; its definitions are versioned in credential_type_versions. */
@Entity('credential_types')
export class CredentialTypeEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** The W3C type (unique: a credential's `type` array names one catalogue type). */
  @Column({ name: 'vc_type', type: 'varchar', length: 100, unique: true })
  vcType!: string;

  @Column({ name: 'catalogue_code', type: 'varchar', length: 64, nullable: true })
  catalogueCode!: string | null;

  @Column({ name: 'holder_type', type: 'varchar', length: 16 })
  holderType!: HolderType;

  @Column({ type: 'varchar', length: 16 })
  status!: CatalogueTypeStatus;

  @Column({ name: 'current_version', type: 'integer' })
  currentVersion!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/** One published definition of a type; never changed once written (credentials name the version they used). */
@Entity('credential_type_versions')
export class CredentialTypeVersionEntity {
  @PrimaryColumn({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  @PrimaryColumn({ type: 'integer' })
  version!: number;

  @Column(jsonColumn<LicenceTypeDefinition>())
  definition!: LicenceTypeDefinition;

  /** SHA-256 of the canonical definition: the hook for publishing the catalogue on chain. */
  @Column({ name: 'schema_digest', type: 'varchar', length: 64 })
  schemaDigest!: string;

  /** Who published it: `seed`, `operator`, later the consortium. */
  @Column({ name: 'published_by', type: 'varchar', length: 64 })
  publishedBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
