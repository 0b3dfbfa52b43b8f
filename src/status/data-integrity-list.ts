import { Injectable } from '@nestjs/common';
import { KeyService } from '../keys/index.js';
import { createDocumentLoader, secureWithEcdsaRdfc2019 } from '../credentials/index.js';
import type { StatusListEntity, StatusPublicationEntity } from './status.entity.js';

/** Media types that ask for the JSON-LD (Data Integrity) form of a Bitstring Status List credential. */
export const DATA_INTEGRITY_MEDIA_TYPES = ['application/vc+ld+json', 'application/vc'] as const;
/** Generic JSON types: they get the JSON-LD form when preferred to every JWT type (JSON-LD document loaders send them). */
const JSON_MEDIA_TYPES = ['application/ld+json', 'application/json'];
const JWT_MEDIA_TYPES = ['application/vc+jwt', 'application/jwt', 'application/statuslist+jwt'];

/**
 * True when an Accept header asks for a Data-Integrity-secured JSON credential: it accepts application/vc+ld+json
 * or application/vc, or it prefers application/ld+json or application/json to the JWT types (q-values; 0 refuses).
 * Wildcards and no Accept keep the vc+jwt default.
 */
export function wantsDataIntegrity(accept: string | undefined): boolean {
  if (!accept) return false;
  const best = (types: readonly string[]) =>
    Math.max(
      0,
      ...ranges(accept)
        .filter(({ type }) => types.includes(type))
        .map(({ q }) => q),
    );
  return best(DATA_INTEGRITY_MEDIA_TYPES) > 0 || best(JSON_MEDIA_TYPES) > best(JWT_MEDIA_TYPES);
}

/**
 * The content type of the Data Integrity form: `application/vc`, VCDM 2.0's registered type (IANA, 2024), to a client
 * that asked for it at least as much as for `application/vc+ld+json`; `application/vc+ld+json` to everyone else, JSON-LD
 * document loaders asking for `application/ld+json` or `application/json` among them (some parse only a type that
 * says json).
 */
export function dataIntegrityMediaType(accept: string | undefined): 'application/vc' | 'application/vc+ld+json' {
  const weight = (type: string) =>
    Math.max(0, ...ranges(accept ?? '').flatMap((range) => (range.type === type ? [range.q] : [])));
  const vc = weight('application/vc');
  return vc > 0 && vc >= weight('application/vc+ld+json') ? 'application/vc' : 'application/vc+ld+json';
}

function ranges(accept: string): { type: string; q: number }[] {
  return accept.split(',').map((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    return { type: type ?? '', q: Number.isFinite(weight) ? weight : 0 };
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
