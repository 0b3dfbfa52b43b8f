import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { BoundedCache, SingleFlight } from '../common/index.js';
import type { JsonWebKey } from 'node:crypto';
import { ChainEvents, StatusListAnchorClient, TrustedIssuerRegistry, type StatusAnchor } from '../chain/index.js';
import { LRUCache } from 'lru-cache';
import { checkCredentialStatus, StatusListFetcher, StatusListMemo } from '../status/index.js';
import { DidResolverService, ethrDid, ethrDidAddress } from '../did/index.js';
import { KeyService } from '../keys/index.js';
import { fetchDidWebDocument, type DidWebOptions } from './did-web.js';
import {
  Catalogue,
  CHAIN_REGISTRY,
  didAnchorFor,
  findVerificationMethod,
  hasAssertionKey,
  multibaseToJwk,
  offlineDidDocument,
  p256HexToJwk,
  parseTrustAnchors,
  trustX5c,
  verificationMethodJwk,
  verifyCredential,
  verifyIssuerProof,
  verifyCredentialDocument,
  verifyPresentation,
  verifyPresentationDocument,
  VerifierDependencyUnavailable,
  type CredentialProofOptions,
  type DidDocument,
  type HolderBindingExpectations,
  type IssuerTrust,
  type PresentationExpectations,
  type TrustAnchor,
  type VerifierLimits,
  type PresentationResult,
  type VerificationResult,
  type VerifierContext,
  type SignatureChecks,
} from '../credentials/index.js';

/**
 * The reusable verifier: binds the plain verification functions to the chain (DID documents, the
 * trusted-issuer registry) and to the status-list checker.
 */
/** Status list URLs whose newest anchored version is remembered. */
const LATEST_VERSIONS_MAX_URLS = 10_000;

/** What did:web documents may hold of the heap, together (see `didWebHeapBytes`). */
const DID_WEB_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * A parsed document's heap size, estimated from its JSON: up to ~21 times the text for a document of many
 * small objects (measured: 64 KB of `{},` made 1.36 MB of heap), so a within-limit document cannot cost more
 * than it is charged.
 */
const didWebHeapBytes = (document: DidDocument | undefined): number => (document ? 24 * JSON.stringify(document).length : 1);

@Injectable()
export class VerifierService {
  private readonly logger = new Logger('VerifierService');
  private readonly clockSkewSeconds: number;
  private readonly holderProofMaxAgeSeconds: number;
  private readonly limits: Partial<VerifierLimits>;
  private readonly verifyAnchors: boolean;
  private readonly statusMaxAgeMs: number;
  private readonly anchoredDigests = new Map<string, string>();
  /** Who anchored each list first (its anchors are that account's for good: the contract never changes it). */
  private readonly anchorPublishers = new Map<string, string>();
  /** The newest anchored version per status list URL, kept as long as a served list may be (STATUS_LIST_MAX_AGE_SECONDS). */
  private readonly latestVersions: LRUCache<string, number>;
  /**
   * One chain read per list version at a time: when the newest version goes stale under load, every
   * verification in flight would otherwise send its own three calls to the node (measured: 32 at once at the
   * bench's peak). A caller that arrives during the read shares it; its answer is at most one read old.
   */
  private readonly anchorReads = new SingleFlight<StatusAnchor>();
  /** Status list versions already verified, per URL and digest (a new version replaces its URL's entry). */
  readonly statusMemo = new StatusListMemo();
  /** Issuer keys resolved from did:ethr documents (see issuerKey). */
  private readonly resolvedKeys: LRUCache<string, { jwk: JsonWebKey }> | undefined;
  /** Moved by every identity event: a key resolved across one may be from before the change, and is not kept. */
  private keyGeneration = 0;
  /**
   * The agency DID (did:ethr) behind the did:key of one of this service's signing keys, or none (ADR 40). Key rows
   * never change, so an answer stays true; a miss is kept a minute (an agency created meanwhile is found then).
   */
  private readonly didKeyAgencies = new LRUCache<string, { agencyDid?: string }>({ max: 10_000, ttl: 60_000 });
  private readonly networkName: string;
  /** Trust beside the chain registry (TRUST_ANCHOR_DIDS, TRUST_ANCHOR_X509_PEM). */
  private readonly trustAnchors: TrustAnchor[];
  private readonly didWeb: DidWebOptions;
  /**
   * did:web documents, kept DID_CACHE_TTL_SECONDS like resolved did:ethr keys (no registry event says when
   * a web host changes its document, so only the lifetime ends an entry; 0 = fetched for every check).
   * Concurrent resolutions of one DID share one fetch; a document that could not be read is not kept.
   */
  private readonly didWebDocuments: BoundedCache<{ document: DidDocument | undefined }>;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly resolver: DidResolverService,
    private readonly trustedIssuers: TrustedIssuerRegistry,
    private readonly anchors: StatusListAnchorClient,
    private readonly lists: StatusListFetcher,
    @Inject(APP_CONFIG) config: AppConfig,
    events: ChainEvents,
    private readonly keys: KeyService,
  ) {
    this.networkName = config.chain.networkName;
    // Kept as long as DID documents are (DID_CACHE_TTL_SECONDS; 0 = every key check reads the chain), and
    // a did:ethr registry event for an identity (its keys may have changed) forgets what was resolved for it.
    this.resolvedKeys =
      config.didCacheTtlSeconds > 0
        ? new LRUCache({ max: config.didCacheMaxEntries, ttl: config.didCacheTtlSeconds * 1000 })
        : undefined;
    events.onIdentityChanged((identity) => {
      this.keyGeneration++;
      const prefix = `${identity.toLowerCase()}|`;
      for (const key of [...(this.resolvedKeys?.keys() ?? [])]) if (key.startsWith(prefix)) this.resolvedKeys!.delete(key);
    });
    this.didWebDocuments = new BoundedCache({
      maxEntries: config.didCacheMaxEntries,
      ttlMs: config.didCacheTtlSeconds * 1000,
      // Any presentation names its holder's did:web, so its host chooses what is kept: a budget in bytes too.
      weight: { maxBytes: DID_WEB_CACHE_MAX_BYTES, weigh: ({ document }) => didWebHeapBytes(document) },
    });
    this.clockSkewSeconds = config.verifier.clockSkewSeconds;
    this.holderProofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
    this.limits = {
      maxCredentialsPerPresentation: config.verifier.maxCredentialsPerPresentation,
      maxIssuersPerRequest: config.verifier.maxIssuersPerRequest,
    };
    this.verifyAnchors = config.status.verifyAnchor;
    this.statusMaxAgeMs = config.status.maxAgeSeconds * 1000;
    this.latestVersions = new LRUCache({ max: LATEST_VERSIONS_MAX_URLS, ttl: Math.max(1, this.statusMaxAgeMs) });
    const { dids, x509Pem } = config.verifier.trustAnchors;
    this.trustAnchors = parseTrustAnchors(dids, x509Pem ? [x509Pem] : []);
    this.didWeb = config.verifier.didWeb;
  }

  /** VC-API: a credential as JSON (enveloped, Data Integrity) or a compact token. */
  verifyCredentialDocument(
    document: unknown,
    options: CredentialProofOptions = {},
    signatureChecks: SignatureChecks = 'inline',
  ): Promise<VerificationResult> {
    return verifyCredentialDocument(document, this.context(signatureChecks), options);
  }

  /** VC-API: a presentation as JSON (enveloped, Data Integrity, unsigned) or a compact token. */
  verifyPresentationDocument(
    document: unknown,
    expect: PresentationExpectations,
    signatureChecks: SignatureChecks = 'inline',
  ): Promise<PresentationResult> {
    return verifyPresentationDocument(document, expect, this.context(signatureChecks));
  }

  verifyCredential(serialized: string, signatureChecks: SignatureChecks = 'inline'): Promise<VerificationResult> {
    return verifyCredential(serialized, this.context(signatureChecks));
  }

  verifyPresentation(
    serialized: string,
    expect: HolderBindingExpectations & { audience: string; nonce: string },
    signatureChecks: SignatureChecks = 'inline',
  ): Promise<PresentationResult> {
    return verifyPresentation(serialized, expect, this.context(signatureChecks));
  }

  /** The verifier's clock, in seconds (a method of its own, so a test can move it instead of waiting). */
  nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
  }

  /**
   * A fresh context per request: the distinct-issuer budget is counted per context. `signatureChecks`: request
   * handlers pass 'threadpool-when-busy' (ADR 28), so a saturated event loop serves other connections while a
   * signature is computed; an in-process caller alone on its loop keeps 'inline'.
   */
  private context(signatureChecks: SignatureChecks): VerifierContext {
    return {
      catalogue: this.catalogue,
      signatureChecks,
      issuerProblem: (issuer) => (ethrDidAddress(issuer) ? undefined : `issuer ${issuer} is not a did:ethr on this chain`),
      resolveIssuerKey: (kid, issuer) => this.onChain('issuer key', () => this.issuerKey(kid, issuer)),
      isAuthorised: (issuer, typeId) =>
        this.onChain('trusted-issuer registry', async () => {
          const address = ethrDidAddress(issuer);
          return address ? this.trustedIssuers.isAuthorised(address, typeId) : false;
        }),
      checkStatus: (status, format, issuer) =>
        checkCredentialStatus(status, format, issuer, {
          fetchList: (url) => this.lists.fetch(url),
          memo: this.statusMemo,
          issuerKey: (kid, did) =>
            ethrDidAddress(did) ? this.onChain('status list key', () => this.issuerKey(kid, did)) : this.anchoredKey(kid, did),
          anchor: this.verifyAnchors
            ? (url, version) => this.onChain('status list anchor', () => this.anchor(url, version))
            : undefined,
          anchorPublisher: (did) => this.anchorPublisher(did),
          verifyDataIntegrity: (document) =>
            verifyIssuerProof(document, { resolveDid: (did) => this.resolveDid(did), nowSeconds: () => this.nowSeconds() }),
          x5cKey: async (x5c, issuer) => {
            const trust = await trustX5c(x5c, issuer, this.trustAnchors, new Date(this.nowSeconds() * 1000));
            return 'jwk' in trust && trust.jwk
              ? { jwk: trust.jwk }
              : { reason: 'reason' in trust ? trust.reason : 'x5c: no key' };
          },
        }),
      trustAnchor: (issuer, x5c) => this.trustAnchor(issuer, x5c),
      resolveDid: (did) => this.resolveDid(did),
      nowSeconds: () => this.nowSeconds(),
      clockSkewSeconds: this.clockSkewSeconds,
      holderProofMaxAgeSeconds: this.holderProofMaxAgeSeconds,
      limits: this.limits,
    };
  }

  /**
   * A configured anchor naming the issuer's DID, an x5c chain to a configured X.509 root, or the did:key of one of
   * this service's agencies (ADR 40).
   */
  private async trustAnchor(issuer: string, x5c: unknown): Promise<IssuerTrust | { reason: string } | undefined> {
    if (x5c !== undefined) return trustX5c(x5c, issuer, this.trustAnchors, new Date());
    const anchor = didAnchorFor(issuer, this.trustAnchors);
    if (anchor || !issuer.startsWith('did:key:')) return anchor;
    return this.agencyDidKey(issuer);
  }

  /**
   * An agency's did:key (the key it signs credentials with) is trusted as its did:ethr is: while that DID
   * document on chain lists the key as an assertion method, and per type by the registry (decideIssuer).
   */
  private async agencyDidKey(issuer: string): Promise<IssuerTrust | { reason: string } | undefined> {
    const found = await this.agencyOfDidKey(issuer);
    if (!found) return undefined;
    const document = await this.resolveDid(found.agencyDid);
    if (!document || !hasAssertionKey(document, found.jwk))
      return { reason: `${issuer.slice(0, 120)} is no longer an assertion method of ${found.agencyDid}` };
    return { trustedBy: CHAIN_REGISTRY, registryDid: found.agencyDid };
  }

  /** The agency whose credential-signing key a did:key is (its did:ethr), remembered; undefined for any other did:key. */
  private async agencyOfDidKey(issuer: string): Promise<{ agencyDid: string; jwk: JsonWebKey } | undefined> {
    const jwk = multibaseToJwk(issuer.slice('did:key:'.length));
    if (!jwk || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return undefined;
    let known = this.didKeyAgencies.get(issuer);
    if (!known) {
      const signing = await this.keys.findByPublicJwk(jwk, 'credential-signing');
      const controller = signing?.ownerRef ? await this.keys.findByOwner(signing.ownerRef, 'did-controller') : null;
      known = controller?.address ? { agencyDid: ethrDid(this.networkName, controller.address) } : {};
      this.didKeyAgencies.set(issuer, known);
    }
    return known.agencyDid ? { agencyDid: known.agencyDid, jwk } : undefined;
  }

  /** DID documents: did:key and did:jwk offline, did:web fetched (bounded), did:ethr from the chain. */
  private async resolveDid(did: string): Promise<DidDocument | undefined> {
    const offline = offlineDidDocument(did);
    if (offline) return offline;
    if (did.startsWith('did:web:')) {
      try {
        const { document } = await this.didWebDocuments.get(
          did,
          async () => ({ document: await fetchDidWebDocument(did, this.didWeb) }),
          (fetched) => (fetched.document ? Number.POSITIVE_INFINITY : 0),
        );
        return document;
      } catch (error) {
        // The method only: a holder's did:web may name a person's own domain.
        this.logger.warn(`did:web resolution failed: ${(error as Error).message?.split('\n')[0]}`);
        throw new VerifierDependencyUnavailable('did_unavailable');
      }
    }
    if (!ethrDidAddress(did)) return undefined;
    const resolved = await this.onChain('DID document', () => this.resolver.resolve(did));
    return (resolved.didDocument as DidDocument | null) ?? undefined;
  }

  /** The key of a status list signed by an anchored (non-chain) issuer. */
  private async anchoredKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }> {
    const document = await this.resolveDid(issuer);
    const method = document && findVerificationMethod(document, kid, 'assertionMethod');
    const jwk = method && verificationMethodJwk(method);
    return jwk ? { jwk } : { reason: `kid ${kid} is not an assertion method of ${issuer}` };
  }

  /**
   * A chain read that throws (connection refused, socket hang up, timeout, RPC error) could not be made:
   * the verifier reports the check as `chain_unavailable` (fail closed) instead of failing the request.
   * The library's message goes to the log only.
   */
  private async onChain<T>(what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      this.logger.warn(`${what}: chain read failed: ${(error as Error).message?.split('\n')[0]}`);
      throw new VerifierDependencyUnavailable('chain_unavailable');
    }
  }

  /**
   * A version's anchored digest never changes, so it is cached for good; the newest version is cached
   * as long as a served list may be (STATUS_LIST_MAX_AGE_SECONDS), the same freshness window.
   */
  private async anchor(url: string, version: number): Promise<{ digest: string; latestVersion: number; publisher?: string }> {
    const digestKey = `${url}#${version}`;
    let digest = this.anchoredDigests.get(digestKey);
    const latest = this.latestVersions.get(url);
    const publisher = this.anchorPublishers.get(url);
    // All three or a read: a publisher forgotten (its map cleared) must not skip the comparison with the issuer.
    if (digest !== undefined && latest !== undefined && publisher !== undefined)
      return { digest, latestVersion: latest, publisher };
    const read = await this.anchorReads.run(digestKey, () => this.anchors.anchorOf(url, version));
    digest = read.digest;
    if (digest) {
      if (this.anchoredDigests.size > 50_000) this.anchoredDigests.clear();
      this.anchoredDigests.set(digestKey, digest);
    }
    if (read.publisher) {
      if (this.anchorPublishers.size > 50_000) this.anchorPublishers.clear();
      this.anchorPublishers.set(url, read.publisher);
    }
    if (this.statusMaxAgeMs > 0) this.latestVersions.set(url, read.latestVersion);
    return { digest, latestVersion: read.latestVersion, publisher: read.publisher };
  }

  /** The account a list issuer anchors with: a did:ethr's own address; an agency's did:key anchors as its did:ethr. */
  private async anchorPublisher(issuer: string): Promise<string | undefined> {
    const address = ethrDidAddress(issuer);
    if (address) return address;
    if (!issuer.startsWith('did:key:')) return undefined;
    const agency = await this.agencyOfDidKey(issuer);
    return agency ? ethrDidAddress(agency.agencyDid) : undefined;
  }

  /**
   * An issuer's key for `kid`, remembered once found (keyed by the lower-case address, so the registry
   * event of that identity evicts it, and a resolution that overlapped any such event is not kept);
   * refusals are not remembered.
   */
  private async issuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }> {
    const address = ethrDidAddress(issuer);
    if (!address) return { reason: `issuer ${issuer} is not a did:ethr on this chain` };
    const key = `${address.toLowerCase()}|${issuer}|${kid}`;
    const known = this.resolvedKeys?.get(key);
    if (known) return known;
    const generation = this.keyGeneration;
    const found = await this.resolveIssuerKey(kid, issuer);
    // Answered either way, but kept only when no identity event came meanwhile (it may have removed this key).
    if ('jwk' in found && generation === this.keyGeneration) this.resolvedKeys?.set(key, found);
    return found;
  }

  private async resolveIssuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }> {
    const resolved = await this.resolver.resolve(issuer);
    if (!resolved.didDocument)
      return { reason: `issuer DID did not resolve: ${resolved.didResolutionMetadata.error ?? 'not found'}` };
    const method = await this.resolver.assertionMethod(kid);
    if (!method) return { reason: `kid ${kid} is not an assertion method of ${issuer}` };
    if (method.publicKeyJwk) return { jwk: method.publicKeyJwk as JsonWebKey };
    if (method.publicKeyHex) {
      try {
        return { jwk: p256HexToJwk(method.publicKeyHex) };
      } catch {
        return { reason: `kid ${kid} is not a P-256 key` };
      }
    }
    return { reason: `kid ${kid} has no usable public key (${method.type})` };
  }
}
