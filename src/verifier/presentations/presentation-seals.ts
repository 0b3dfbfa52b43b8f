import { Injectable } from '@nestjs/common';
import { OAuthError, sha256Hex } from '../../common/index.js';
import { KeyService, SealedSecrets, type AgreementPublicJwk, type DecryptedJwe } from '../../keys/index.js';
import { RESPONSE_ENCRYPTION, type StoredVerdict } from '../../oid4vp/index.js';
import type { PresentationRequestEntity, SealedText, StoredRequest } from './presentation-request.entity.js';

/**
 * Everything of a presentation request that is sealed at rest, and the one place that names the contexts
 * (each bound to the request id, so a sealed value copied to another row does not open). Nothing that
 * carries the nonce, state or claims is stored in clear; the response key never leaves src/keys.
 */
@Injectable()
export class PresentationSeals {
  constructor(
    private readonly keys: KeyService,
    private readonly secrets: SealedSecrets,
  ) {}

  /** A fresh ECDH-ES key for a direct_post.jwt response: its public JWK (kid = request id) and sealed handle. */
  responseKey(requestId: string): Promise<{ publicJwk: AgreementPublicJwk; sealed: string }> {
    return this.secrets.createEphemeralAgreementKey(`presentation:${requestId}`, requestId);
  }

  /** Decrypts a response JWE with the request's key, accepting only RESPONSE_ENCRYPTION's algorithms. */
  decryptResponse(request: Pick<PresentationRequestEntity, 'id' | 'encryptionKeySealed'>, jwe: string): Promise<DecryptedJwe> {
    if (!request.encryptionKeySealed) throw new Error(`Presentation request ${request.id} has no response key`);
    return this.secrets.decryptJwe(request.encryptionKeySealed, jwe, `presentation:${request.id}`, RESPONSE_ENCRYPTION);
  }

  sealRequest(requestId: string, stored: StoredRequest): Promise<string> {
    return this.keys.sealJson(stored, `presentation-payload:${requestId}`);
  }

  /** The stored request, refused if its nonce no longer matches the hash kept beside it (a damaged row). */
  async openRequest(request: Pick<PresentationRequestEntity, 'id' | 'requestPayload' | 'nonceHash'>): Promise<StoredRequest> {
    const stored = await this.open<StoredRequest>(request.requestPayload, `presentation-payload:${request.id}`);
    if (request.nonceHash && sha256Hex(stored.authorizationRequest.nonce) !== request.nonceHash)
      throw new OAuthError(400, 'invalid_request', 'This presentation request is damaged');
    return stored;
  }

  sealRequestObject(requestId: string, requestObject: string): Promise<string> {
    return this.keys.sealJson(requestObject, `presentation-object:${requestId}`);
  }

  openRequestObject(requestId: string, sealed: string): Promise<string> {
    return this.keys.openJson<string>(sealed, `presentation-object:${requestId}`);
  }

  sealVerdict(requestId: string, verdict: StoredVerdict): Promise<string> {
    return this.keys.sealJson(verdict, `verdict:${requestId}`);
  }

  async openVerdict(request: Pick<PresentationRequestEntity, 'id' | 'result'>): Promise<StoredVerdict | undefined> {
    return request.result ? this.open<StoredVerdict>(request.result, `verdict:${request.id}`) : undefined;
  }

  /** Rows from before the hardening migration hold plain JSON of the same shape (see SealedText). */
  private async open<T>(value: SealedText, context: string): Promise<T> {
    return typeof value === 'string' ? this.keys.openJson<T>(value, context) : (value.legacyPlain as T);
  }
}
