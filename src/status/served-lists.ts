import { hash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { entityTagOf, SingleFlight } from '../common/index.js';
import { Database } from '../persistence/index.js';
import { DataIntegrityStatusLists } from './data-integrity-list.js';
import { LIST_MEDIA_TYPE } from './list-urls.js';
import { publicationHeadsOf } from './publication-heads.js';
import { StatusRepository, type KnownListBytes } from './status.repository.js';
import { StatusService } from './status.service.js';
import type { StatusPurpose } from './status.entity.js';

/** One representation of a list version as it goes out: its bytes, their tag and type. */
export interface ServedRepresentation {
  body: string;
  /** A strong tag of exactly these bytes (RFC 9110 §8.8.3). */
  etag: string;
  mediaType: string;
  lastModified: Date;
}

/** A version remembered with the bytes it was read as; the Data Integrity form is made on first request. */
interface ServedVersion {
  version: number;
  known: KnownListBytes;
  jwt: ServedRepresentation;
  dataIntegrity?: Promise<ServedRepresentation>;
  secure(): Promise<ServedRepresentation>;
}

/**
 * What the public status-list endpoint serves, remembered per list version. Relying parties poll lists
 * (every max-age, and each revalidation with If-None-Match): a request whose list has not changed costs a
 * head check (memory while the table's change feed vouches for it, else one statement comparing the bytes
 * in the database) instead of reading the 20 KB row and hashing it; requests that find a new version at
 * once share one read of it (ADR 31).
 */
@Injectable()
export class ServedLists {
  /** Bounded by bytes too: an entry holds the JWT's text and bytes, and later its Data Integrity form. */
  private readonly versions = new LRUCache<string, ServedVersion>({
    max: 1_000,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (version) => 4 * version.known.utf8.length,
  });
  private readonly reads = new SingleFlight<ServedVersion>();

  constructor(
    private readonly db: Database,
    private readonly status: StatusService,
    private readonly repository: StatusRepository,
    private readonly dataIntegrity: DataIntegrityStatusLists,
  ) {}

  async current(listId: string, purpose: StatusPurpose, dataIntegrity: boolean): Promise<ServedRepresentation> {
    const version = await this.newest(listId, purpose);
    if (!dataIntegrity) return version.jwt;
    if (!version.dataIntegrity) {
      const securing = version.secure();
      // A failure (the key service, say) is not remembered: the next request tries again.
      securing.catch(() => {
        if (version.dataIntegrity === securing) version.dataIntegrity = undefined;
      });
      version.dataIntegrity = securing;
    }
    return version.dataIntegrity;
  }

  /** The newest version, from memory when its stored bytes are still those remembered. */
  private async newest(listId: string, purpose: StatusPurpose): Promise<ServedVersion> {
    const key = `${listId}/${purpose}`;
    const remembered = this.versions.get(key);
    // Before the head read: a request after any change of the table (the feed's generation) shares no
    // read started before it, a row edited under the same version included.
    const generation = publicationHeadsOf(this.db).mark();
    const head = await this.repository.latestPublicationHead(listId, purpose, remembered?.known);
    if (remembered && head && head.jwt === undefined && head.version === remembered.version) return remembered;
    // A new version, or none yet (`served` answers 404 for an unknown or unpublished list).
    return this.reads.run(`${generation} ${key} ${head?.version ?? 'none'}`, async () => {
      const read = await this.read(listId, purpose);
      const current = this.versions.get(key);
      // A read that finished after a newer one does not replace it.
      if (!current || current.version <= read.version) this.versions.set(key, read);
      return read;
    });
  }

  private async read(listId: string, purpose: StatusPurpose): Promise<ServedVersion> {
    const { list, publication } = await this.status.served(listId, purpose);
    const utf8 = Buffer.from(publication.jwt);
    const jwt: ServedRepresentation = {
      body: publication.jwt,
      etag: entityTagOf(utf8),
      mediaType: LIST_MEDIA_TYPE[list.kind],
      lastModified: publication.createdAt,
    };
    const dataIntegrity = list.kind === 'bitstring';
    return {
      version: publication.version,
      known: { jwt: publication.jwt, utf8, digest: hash('sha256', utf8, 'hex') },
      jwt,
      secure: async () => {
        if (!dataIntegrity) return jwt;
        const body = JSON.stringify(await this.dataIntegrity.secured(list, publication));
        return { body, etag: entityTagOf(body), mediaType: 'application/vc', lastModified: publication.createdAt };
      },
    };
  }
}
