import { Injectable } from '@nestjs/common';
import { AuditLog } from '../../audit/index.js';
import { CatalogueService, type LicenceType, type RecordCatalogueChange } from '../../credentials/index.js';

/**
 * The operator's catalogue changes, each recorded in the audit trail (type id, version, schema digest; a
 * catalogue holds no personal data) in the change's own transaction. The catalogue itself stays in
 * src/credentials, free of the audit layer: it only runs the write it is handed.
 */
@Injectable()
export class CatalogueAdministration {
  constructor(
    private readonly catalogue: CatalogueService,
    private readonly audit: AuditLog,
  ) {}

  list() {
    return this.catalogue.list();
  }

  show(id: string) {
    return this.catalogue.show(id);
  }

  create(input: unknown): Promise<LicenceType> {
    return this.catalogue.create(input, 'operator', this.record);
  }

  publishVersion(id: string, input: unknown): Promise<LicenceType> {
    return this.catalogue.publishVersion(id, input, 'operator', this.record);
  }

  /** Retiring a retired type again changes nothing and records nothing. */
  retire(id: string): Promise<LicenceType> {
    return this.catalogue.retire(id, this.record);
  }

  /** The change's audit entry, in the change's own transaction: both commit or neither. */
  private readonly record: RecordCatalogueChange = async (tx, { change, typeId, version, schemaDigest, status }) => {
    await this.audit.append(
      {
        kind: 'catalogue.changed',
        actor: 'operator',
        subject: `credential-type:${typeId}`,
        data: { change, version, schemaDigest, status },
      },
      tx,
    );
  };
}
