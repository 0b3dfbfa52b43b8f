import { Injectable } from '@nestjs/common';
import { AuditLog } from '../../audit/index.js';
import { CatalogueService, type LicenceType } from '../../credentials/index.js';

/**
 * The operator's catalogue changes, each recorded in the audit trail (type id, version, schema digest; a
 * catalogue holds no personal data). The catalogue itself stays in src/credentials, free of the audit layer.
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

  async create(input: unknown): Promise<LicenceType> {
    return this.recorded('created', await this.catalogue.create(input));
  }

  async publishVersion(id: string, input: unknown): Promise<LicenceType> {
    return this.recorded('versioned', await this.catalogue.publishVersion(id, input));
  }

  async retire(id: string): Promise<LicenceType> {
    return this.recorded('retired', await this.catalogue.retire(id));
  }

  private async recorded(change: 'created' | 'versioned' | 'retired', type: LicenceType): Promise<LicenceType> {
    await this.audit.append({
      kind: 'catalogue.changed',
      actor: 'operator',
      subject: `credential-type:${type.id}`,
      data: { change, version: type.version, schemaDigest: type.schemaDigest, status: type.status },
    });
    return type;
  }
}
