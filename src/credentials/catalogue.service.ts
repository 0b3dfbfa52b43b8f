import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { BackgroundJob, badRequest, conflict, notFound, ProblemError } from '../common/index.js';
import { Catalogue, parseLicenceTypeDefinition, type LicenceType, type LicenceTypeDefinition } from './catalogue.js';
import {
  catalogueFingerprint,
  CatalogueConflict,
  CatalogueRepository,
  type RecordCatalogueChange,
} from './catalogue.repository.js';

/** Emitted when a version is published: the hook for anchoring the catalogue on chain (consortium). */
export interface CatalogueVersionPublished {
  typeId: string;
  version: number;
  schemaDigest: string;
  publishedBy: string;
}

/**
 * The run-time catalogue. The `Catalogue` object every module holds is kept current: after a change made
 * here at once, after a change by another replica within CATALOGUE_REFRESH_MS (a poll of the table's
 * id/version/status fingerprint; the definitions are read only when it changed).
 */
@Injectable()
export class CatalogueService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CatalogueService');
  private readonly job = new BackgroundJob(this.logger, 'catalogue refresh');
  private readonly listeners: Array<(event: CatalogueVersionPublished) => void> = [];
  private fingerprint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloads: Promise<void> = Promise.resolve();

  constructor(
    private readonly catalogue: Catalogue,
    private readonly repository: CatalogueRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // What the catalogue was built from at start-up: the first poll reloads (and recompiles every schema)
    // only if the table changed since.
    this.fingerprint ??= catalogueFingerprint(this.catalogue.all());
    this.timer = setInterval(() => void this.job.run(() => this.refresh()), this.config.catalogue.refreshMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Subscribes to published versions (seeded types are not announced). */
  onVersionPublished(listener: (event: CatalogueVersionPublished) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reloads when the table changed since the last look. One reload at a time, in the order asked: a periodic reload
   * that read the table before a change committed must not install its older entries after the change's own reload.
   */
  refresh(): Promise<void> {
    const next = this.reloads.then(() => this.reloadIfChanged());
    this.reloads = next.catch(() => undefined);
    return next;
  }

  private async reloadIfChanged(): Promise<void> {
    const fingerprint = await this.repository.fingerprint();
    if (fingerprint === this.fingerprint) return;
    const entries = await this.repository.load();
    this.catalogue.replace(entries);
    this.fingerprint = fingerprint;
  }

  list(): LicenceType[] {
    return this.catalogue.all();
  }

  async show(id: string) {
    const type = this.catalogue.get(id);
    if (!type) throw notFound(`No credential type "${id}"`);
    const versions = await this.repository.versions(id);
    return {
      ...type,
      versions: versions.map(({ version, schemaDigest, publishedBy, createdAt }) => ({
        version,
        schemaDigest,
        publishedBy,
        createdAt,
      })),
    };
  }

  /** `record` commits with the change (see RecordCatalogueChange); so do publishVersion's and retire's. */
  async create(input: unknown, publishedBy = 'operator', record?: RecordCatalogueChange): Promise<LicenceType> {
    const definition = parseDefinition(input);
    try {
      await this.repository.create(definition, publishedBy, record);
    } catch (error) {
      if (error instanceof CatalogueConflict) throw conflict(error.message);
      throw error;
    }
    return this.published(definition, 1, publishedBy);
  }

  /** A new version of an existing type (its id and W3C type stay; schema, display, formats, validity may change). */
  async publishVersion(
    id: string,
    input: unknown,
    publishedBy = 'operator',
    record?: RecordCatalogueChange,
  ): Promise<LicenceType> {
    const current = await this.repository.type(id);
    if (!current) throw notFound(`No credential type "${id}"`);
    const definition = parseDefinition({ ...(input as object), id });
    if (definition.vcType !== current.vcType) {
      throw badRequest('A new version keeps the W3C type; create another type instead', [
        { path: 'vcType', message: `must stay ${current.vcType}` },
      ]);
    }
    if (current.status !== 'active') throw retired(id);
    let version: number;
    try {
      version = await this.repository.publishVersion(definition, current.currentVersion, publishedBy, record);
    } catch (error) {
      if (error instanceof CatalogueConflict) throw conflict(error.message);
      throw error;
    }
    return this.published(definition, version, publishedBy);
  }

  /** Retires a type: new issuance is refused, credentials already issued still verify. */
  async retire(id: string, record?: RecordCatalogueChange): Promise<LicenceType> {
    const current = await this.repository.type(id);
    if (!current) throw notFound(`No credential type "${id}"`);
    const before = this.catalogue.get(id);
    await this.repository.retire(id, record);
    await this.refreshAfterCommit();
    this.logger.log({ typeId: id }, 'credential type retired');
    const loaded = this.catalogue.get(id);
    if (loaded?.status === 'retired') return loaded;
    if (!before) throw notFound(`Credential type "${id}" was retired; it is not loaded on this replica yet`);
    return { ...before, status: 'retired' };
  }

  /**
   * Loads what was just committed. Its failure must not turn the committed change into an error (a retry would
   * publish a second version): the answer is made from what was written, and the catalogue's next periodic
   * reload loads the table.
   */
  private async refreshAfterCommit(): Promise<void> {
    await this.refresh().catch((error: unknown) =>
      this.logger.warn(
        { event: 'catalogue_reload_deferred', code: (error as { code?: unknown }).code },
        'catalogue change committed; reload deferred',
      ),
    );
  }

  private async published(definition: LicenceTypeDefinition, version: number, publishedBy: string): Promise<LicenceType> {
    await this.refreshAfterCommit();
    const loaded = this.catalogue.get(definition.id);
    const type = loaded?.version === version ? loaded : this.catalogue.typeOf(definition, 'active', version);
    const event = { typeId: type.id, version, schemaDigest: type.schemaDigest, publishedBy };
    this.logger.log(event, 'credential type version published');
    for (const listener of this.listeners) listener(event);
    return type;
  }
}

/** The problem a retired type's issuance (and new versions) get. */
export const retired = (id: string) =>
  new ProblemError(
    409,
    'credential_type_retired',
    'The credential type is retired',
    `${id} is retired: no new credentials are issued`,
  );

function parseDefinition(input: unknown): LicenceTypeDefinition {
  const { definition, problems } = parseLicenceTypeDefinition(input);
  if (!definition) throw badRequest('The credential type definition is invalid', problems);
  return definition;
}
