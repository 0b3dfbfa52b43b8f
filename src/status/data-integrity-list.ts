import { Injectable } from '@nestjs/common';
import { KeyService } from '../keys/index.js';
import { createDocumentLoader, secureWithEcdsaRdfc2019 } from '../credentials/index.js';
import type { StatusListEntity, StatusPublicationEntity } from './status.entity.js';

/** Media types that ask for the JSON-LD (Data Integrity) form of a Bitstring Status List credential. */
export const DATA_INTEGRITY_MEDIA_TYPES = ['application/vc+ld+json', 'application/vc'] as const;

/** True when an Accept header prefers a Data-Integrity-secured JSON credential (q-values above 0 count). */
export function wantsDataIntegrity(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return (DATA_INTEGRITY_MEDIA_TYPES as readonly string[]).includes(type ?? '') && (!q || Number(q.slice(2)) > 0);
  });
}

/**
 * The Data Integrity form of a published Bitstring Status List: the same credential as the vc+jwt
 * publication (the JWT's registered claims dropped), secured with ecdsa-rdfc-2019 by the agency key through
 * src/keys. Made once per served version: `ServedLists` keeps it with the version's bytes. The anchored
 * digest stays that of the vc+jwt bytes.
 */
@Injectable()
export class DataIntegrityStatusLists {
  constructor(private readonly keys: KeyService) {}

  async secured(list: StatusListEntity, publication: StatusPublicationEntity): Promise<Record<string, unknown>> {
    const payload = JSON.parse(Buffer.from(publication.jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const { iss: _iss, iat: _iat, version: _version, ...credential } = payload;
    return secureWithEcdsaRdfc2019(credential, {
      verificationMethod: list.signingKid,
      sign: (data) => this.keys.signJws(list.signingKeyId, data),
      documentLoader: createDocumentLoader(async () => undefined),
      created: publication.createdAt,
    });
  }
}
