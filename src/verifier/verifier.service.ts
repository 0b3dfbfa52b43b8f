import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import type { JsonWebKey } from 'node:crypto';
import { StatusListAnchorClient, TrustedIssuerRegistry } from '../chain/index.js';
import { checkCredentialStatus, StatusListFetcher } from '../status/index.js';
import { DidResolverService, ethrDidAddress } from '../did/index.js';
import {
  Catalogue,
  p256HexToJwk,
  verifyCredential,
  verifyPresentation,
  type HolderBindingExpectations,
  type PresentationResult,
  type VerificationResult,
  type VerifierContext,
} from '../credentials/index.js';

/**
 * The reusable verifier: binds the plain verification functions to the chain (DID documents, the
 * trusted-issuer registry) and to the status-list checker.
 */
@Injectable()
export class VerifierService {
  private readonly clockSkewSeconds: number;
  private readonly verifyAnchors: boolean;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly resolver: DidResolverService,
    private readonly trustedIssuers: TrustedIssuerRegistry,
    private readonly anchors: StatusListAnchorClient,
    private readonly lists: StatusListFetcher,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.clockSkewSeconds = config.verifier.clockSkewSeconds;
    this.verifyAnchors = config.status.verifyAnchor;
  }

  verifyCredential(serialized: string): Promise<VerificationResult> {
    return verifyCredential(serialized, this.context());
  }

  verifyPresentation(serialized: string, expect: HolderBindingExpectations): Promise<PresentationResult> {
    return verifyPresentation(serialized, expect, this.context());
  }

  private context(): VerifierContext {
    return {
      catalogue: this.catalogue,
      resolveIssuerKey: (kid, issuer) => this.issuerKey(kid, issuer),
      isAuthorised: async (issuer, typeId) => {
        const address = ethrDidAddress(issuer);
        return address ? this.trustedIssuers.isAuthorised(address, typeId) : false;
      },
      checkStatus: (status, format, issuer) =>
        checkCredentialStatus(status, format, issuer, {
          fetchList: (url) => this.lists.fetch(url),
          issuerKey: (kid, did) => this.issuerKey(kid, did),
          anchor: this.verifyAnchors ? (url, version) => this.anchors.anchorOf(url, version) : undefined,
        }),
      nowSeconds: () => Math.floor(Date.now() / 1000),
      clockSkewSeconds: this.clockSkewSeconds,
    };
  }

  private async issuerKey(kid: string, issuer: string): Promise<{ jwk: JsonWebKey } | { reason: string }> {
    if (!ethrDidAddress(issuer)) return { reason: `issuer ${issuer} is not a did:ethr on this chain` };
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
