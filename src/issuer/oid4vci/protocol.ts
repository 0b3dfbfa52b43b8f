import { Inject, Injectable } from '@nestjs/common';
import { Oauth2AuthorizationServer, Oauth2ResourceServer, type Jwk, type RequestLike } from '@openid4vc/oauth2';
import { Openid4vciIssuer, Openid4vciVersion, type IssuerMetadataResult } from '@openid4vc/openid4vci';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { merged } from '../../common/index.js';
import { KeyService } from '../../keys/index.js';
import { Catalogue, signJws } from '../../credentials/index.js';
import { oid4vcCallbacks, requestLike } from '../../oauth/index.js';
import {
  authorizationServerMetadataFor,
  credentialConfigurations,
  credentialIssuerMetadataFor,
  deepFreeze,
  OID4VCI_ENDPOINTS,
} from '../../oid4vci/index.js';
import { TokenKeys } from '../authorization-server/token-keys.js';

/**
 * The @openid4vc protocol objects of our one credential issuer and authorization server (PUBLIC_URL),
 * shared by the offer, authorization-server and credential-endpoint roles, with their metadata. Our own
 * JWTs (access tokens) are signed by src/keys with the active access-token key.
 */
@Injectable()
export class Oid4vciProtocol {
  readonly base: string;
  readonly issuer: Openid4vciIssuer;
  readonly authorizationServer: Oauth2AuthorizationServer;
  readonly resourceServer: Oauth2ResourceServer;
  private asMetadata: ReturnType<Oauth2AuthorizationServer['createAuthorizationServerMetadata']> | undefined;
  private catalogueMetadata:
    | {
        revision: number;
        credentialIssuer: ReturnType<Openid4vciIssuer['createCredentialIssuerMetadata']>;
        issuerMetadata: IssuerMetadataResult;
      }
    | undefined;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly tokenKeys: TokenKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.base = publicBaseUrl(config);
    const jwksUrl = this.base + OID4VCI_ENDPOINTS.jwks;
    const callbacks = oid4vcCallbacks(
      (publicJwk, header, payload) => this.signOwnJwt(publicJwk, header, payload),
      // The resource server fetches our JWKS to check access tokens; answer it without a network trip.
      async (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (url === jwksUrl) {
          return new Response(JSON.stringify(await this.tokenKeys.jwks()), {
            headers: { 'content-type': 'application/jwk-set+json' },
          });
        }
        return fetch(input, init);
      },
    );
    this.issuer = new Openid4vciIssuer({ callbacks });
    this.authorizationServer = new Oauth2AuthorizationServer({ callbacks });
    this.resourceServer = new Oauth2ResourceServer({ callbacks });
  }

  /** The protocol layer's view of an HTTP request, at our public URL. */
  request(request: FastifyRequest): RequestLike {
    return requestLike(this.base, request.method, request.url, request.headers);
  }

  /** The authorization server's metadata: fixed by the configuration, made (and checked by the library) once. */
  authorizationServerMetadata() {
    return (this.asMetadata ??= deepFreeze(
      this.authorizationServer.createAuthorizationServerMetadata(authorizationServerMetadataFor(this.base)),
    ));
  }

  /** The credential issuer's metadata, made once per catalogue revision (every wallet request reads it). */
  credentialIssuerMetadata() {
    return this.madeForCatalogue().credentialIssuer;
  }

  /** Both metadata documents together, as the library's issuer functions take them. */
  issuerMetadata(): IssuerMetadataResult {
    return this.madeForCatalogue().issuerMetadata;
  }

  private madeForCatalogue() {
    if (this.catalogueMetadata?.revision !== this.catalogue.revision) {
      const revision = this.catalogue.revision;
      const credentialIssuer = deepFreeze(
        this.issuer.createCredentialIssuerMetadata(credentialIssuerMetadataFor(this.base, this.catalogue) as never),
      );
      const issuerMetadata = deepFreeze({
        originalDraftVersion: Openid4vciVersion.V1,
        credentialIssuer,
        authorizationServers: [this.authorizationServerMetadata()],
        knownCredentialConfigurations: credentialConfigurations(this.catalogue) as never,
      } as IssuerMetadataResult);
      this.catalogueMetadata = { revision, credentialIssuer, issuerMetadata };
    }
    return this.catalogueMetadata;
  }

  private async signOwnJwt(publicJwk: Jwk, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
    const key = (await this.tokenKeys.active()).find((active) => active.jwk.x === publicJwk.x && active.jwk.y === publicJwk.y);
    if (!key) throw new Error('Asked to sign with a key that is not ours');
    // Name the key by kid (every active key is in the JWKS), not by an embedded jwk.
    const { jwk: _jwk, ...rest } = header;
    return signJws(merged(rest, { kid: key.kid }), payload, (input) => this.keys.signJws(key.keyId, input));
  }
}
