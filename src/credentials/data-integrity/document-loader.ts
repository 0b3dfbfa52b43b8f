import { asMultikey, findVerificationMethod, type DidDocument } from '../dids.js';
import { BUNDLED_CONTEXTS, DID_V1_CONTEXT } from './contexts.js';

export interface LoadedDocument {
  contextUrl: null;
  documentUrl: string;
  document: unknown;
}
export type DocumentLoader = (url: string) => Promise<LoadedDocument>;

/** A document the loader will not provide (unknown context, unresolvable DID); the message is safe to show. */
export class DocumentNotLoadable extends Error {
  constructor(
    readonly code: 'unknown_context' | 'unresolvable_did' | 'unknown_verification_method',
    message: string,
  ) {
    super(message);
    this.name = 'DocumentNotLoadable';
  }
}

/** DID resolution the loader delegates to (did:key/did:jwk offline, did:web over https, did:ethr on chain). */
export type DidDocumentResolver = (did: string) => Promise<DidDocument | undefined>;

const loaded = (documentUrl: string, document: unknown): LoadedDocument => ({ contextUrl: null, documentUrl, document });

/**
 * The only document loader Data Integrity verification and signing use: bundled contexts, and DIDs through
 * `resolveDid`. Verification methods come back as Multikeys (what the cryptosuites load) and DID documents
 * with the DID v1 context first (so controller checks need no framing). Nothing is fetched by URL.
 */
export function createDocumentLoader(resolveDid: DidDocumentResolver): DocumentLoader {
  return async (url: string) => {
    const context = BUNDLED_CONTEXTS.get(url);
    if (context !== undefined) return loaded(url, structuredClone(context));
    if (!url.startsWith('did:')) {
      throw new DocumentNotLoadable('unknown_context', `${url.slice(0, 200)} is not a bundled context and is never fetched`);
    }
    const [did, fragment] = url.split('#', 2) as [string, string | undefined];
    const document = await resolveDid(did);
    if (!document) throw new DocumentNotLoadable('unresolvable_did', `${did.slice(0, 200)} could not be resolved`);
    if (fragment === undefined) {
      const contexts = Array.isArray(document['@context']) ? document['@context'] : [];
      return loaded(url, { ...document, '@context': [DID_V1_CONTEXT, ...contexts.filter((c) => c !== DID_V1_CONTEXT)] });
    }
    const method = findVerificationMethod(document, url);
    const multikey = method && asMultikey(method);
    if (!multikey)
      throw new DocumentNotLoadable('unknown_verification_method', `${url.slice(0, 200)} is no usable verification method`);
    return loaded(url, multikey);
  };
}
