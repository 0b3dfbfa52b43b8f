import { Inject, Injectable, Logger } from '@nestjs/common';
import type { JsonWebKey } from 'node:crypto';
import type { RequestLike } from '@openid4vc/oauth2';
import type { IssuerMetadataResult } from '@openid4vc/openid4vci';
import { merged, randomToken, sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { mapErrors, notJsonBody, oauthError } from '../../oauth/index.js';
import {
  alreadyIssued,
  alreadyIssuedProblem,
  checkKeyProof,
  repeatedProofKeyProblem,
  credentialConfigurations,
  DEFERRED_INTERVAL_SECONDS,
  deniedProblem,
  invalidNonce,
  issuanceStep,
  jwtProofs,
  NONCE_TTL_SECONDS,
  OID4VCI_ENDPOINTS,
  requestedConfiguration,
  requestedCredential,
  withoutSupersededProof,
} from '../../oid4vci/index.js';
import { Catalogue } from '../../credentials/index.js';
import { Database, type Tx } from '../../persistence/index.js';
import { OfferRepository } from '../offers/offer.repository.js';
import { Oid4vciProtocol } from '../oid4vci/protocol.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { ApprovalService } from '../approvals/approval.service.js';
import { DeferredRequestRepository } from './deferred.repository.js';
import { NonceRepository } from './nonce.repository.js';
import { OfferIssuance } from './offer-issuance.js';

/** The nonce endpoint (OID4VCI 1.0 §7) and the credential endpoint (§8): key proofs, batches, deferral. */
@Injectable()
export class CredentialService {
  private readonly logger = new Logger('CredentialService');
  private readonly proofMaxAgeSeconds: number;

  constructor(
    private readonly protocol: Oid4vciProtocol,
    private readonly catalogue: Catalogue,
    private readonly tokens: AccessTokenVerifier,
    private readonly offers: OfferRepository,
    private readonly nonces: NonceRepository,
    private readonly deferred: DeferredRequestRepository,
    private readonly issuance: OfferIssuance,
    private readonly approvals: ApprovalService,
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proofMaxAgeSeconds = config.holderProofMaxAgeSeconds;
  }

  async nonce() {
    const cNonce = randomToken(24);
    await this.nonces.insert(cNonce, new Date(Date.now() + NONCE_TTL_SECONDS * 1000));
    return this.protocol.issuer.createNonceResponse({ cNonce, cNonceExpiresIn: NONCE_TTL_SECONDS });
  }

  async credential(body: unknown, request: RequestLike) {
    return mapErrors(async () => {
      const { offer, credentialIdentifiers, scheme, clientId } = await this.tokens.authorisedOffer(request);
      if (notJsonBody(request.headers))
        throw oauthError(400, 'invalid_credential_request', 'The credential request must be application/json');
      const metadata = this.protocol.issuerMetadata();
      const configuration = requestedConfiguration({
        requested: requestedCredential(body),
        grantedIdentifiers: credentialIdentifiers,
        known: credentialConfigurations(this.catalogue),
        offered: offer.configurationIds,
        scheme,
      });
      const parsed = this.protocol.issuer.parseCredentialRequest({
        issuerMetadata: metadata,
        credentialRequest: withoutSupersededProof(body as Record<string, unknown>),
      });
      const issuedProblem = alreadyIssuedProblem(configuration, offer.issuedConfigurations);
      if (issuedProblem) throw issuedProblem;
      const proofs = jwtProofs(parsed.proofs as Record<string, unknown[] | undefined> | undefined);

      // All proofs are checked first; their nonces (one shared by a batch, or one each) are then consumed
      // once each, so a failed request burns none and a replay finds them gone. The signatures are verified only
      // once every proof is well formed and every nonce still usable: a request with made-up or spent nonces
      // costs a read per nonce, not up to MAX_PROOFS_PER_REQUEST signature checks, however often it is sent.
      const read = proofs.map((jwt) => this.readProof(jwt, clientId));
      const repeated = repeatedProofKeyProblem(read.map((proof) => proof.key));
      if (repeated) throw oauthError(400, 'invalid_proof', `The key proofs are invalid: ${repeated}`);
      const nonces = new Set(read.map((proof) => proof.nonce));
      for (const nonce of nonces) if (!(await this.nonces.usable(nonce, new Date()))) throw this.invalidNonce();
      for (const proof of read) await this.verifyProofSignature(proof, metadata);
      for (const nonce of nonces) if (!(await this.nonces.consume(nonce, new Date()))) throw this.invalidNonce();
      const holderKeys = read.map((proof) => proof.key);

      const denied = deniedProblem(offer);
      if (denied) throw denied;
      const grantedCount = (credentialIdentifiers ?? offer.configurationIds).length;
      const { deferred } = issuanceStep({
        approval: offer.approval,
        grantedCount,
        issuedCount: offer.issuedConfigurations.length,
      });
      // The configuration's single use commits with what it yields (the deferred request, or the first
      // credential): a failure in between can no longer leave the offer spent with nothing to show for it.
      // The last configuration finishes the offer (its claims erased) only when no deferred request of it still
      // waits for them: one deferred before the officer approved, the other asked for directly after. Decided on
      // the list as claimed and in the claim's transaction, each round: a parallel request for another configuration
      // may have been issued or deferred meanwhile.
      const finishes = async (issuedAfter: readonly string[], tx?: Tx) =>
        !deferred &&
        issuanceStep({ approval: offer.approval, grantedCount, issuedCount: issuedAfter.length - 1 }).last &&
        (await this.deferred.pendingCount(offer.id, tx)) === 0;
      const claimConfiguration = async (tx: Tx) => {
        if (!(await this.offers.markIssued(offer, configuration, finishes, tx))) throw alreadyIssued(configuration);
      };
      if (deferred) {
        const transactionId = randomToken(24);
        // The whole answer is ready before the commit: nothing that can fail follows the configuration's single
        // use, or the wallet would never learn the transaction_id it must poll with.
        // A joint-approval application (issue 16): the applicant's reference and read token ride along.
        const application = await this.approvals.applicantLink(offer.id);
        const body = merged(
          this.protocol.issuer.createCredentialResponse({
            credentialRequest: parsed,
            transactionId,
            interval: DEFERRED_INTERVAL_SECONDS,
          }),
          application ? { application } : {},
        );
        await this.db.transaction(async (tx) => {
          await claimConfiguration(tx);
          await this.deferred.insert(
            {
              transactionHash: sha256Hex(transactionId),
              offerId: offer.id,
              configurationId: configuration,
              holderKeys,
              status: 'pending',
              createdAt: new Date(),
            },
            tx,
          );
        });
        this.logger.log({ offerId: offer.id, configuration }, 'credential request deferred until an officer approves');
        return { status: 202, body };
      }
      // markIssued erases the sealed claims with the offer's last configuration.
      const { credentials, notificationId } = await this.issuance.issue(
        offer,
        configuration,
        holderKeys,
        false,
        claimConfiguration,
      );
      return {
        status: 200,
        body: this.protocol.issuer.createCredentialResponse({ credentialRequest: parsed, credentials, notificationId }),
      };
    }, 'invalid_credential_request');
  }

  private invalidNonce() {
    return invalidNonce(this.protocol.base + OID4VCI_ENDPOINTS.nonce);
  }

  /**
   * A `jwt` key proof, by our strict checks (checkKeyProof: structure, typ, pinned alg, public holder key, iat
   * window), before any signature is verified. Returns the key and the nonce, which the caller consumes.
   */
  private readProof(jwt: string, clientId: string | undefined): { jwt: string; key: JsonWebKey; nonce: string } {
    const checked = checkKeyProof(jwt, { now: new Date(), maxAgeSeconds: this.proofMaxAgeSeconds, clientId });
    if (!checked.ok) throw oauthError(400, 'invalid_proof', `The key proof is invalid: ${checked.description}`);
    const { key, nonce } = checked.value;
    // OID4VCI 1.0 §8.3.1.2: a proof without c_nonce is invalid_proof (invalid_nonce would send the wallet for a new one).
    if (nonce === undefined)
      throw oauthError(400, 'invalid_proof', 'The key proof has no nonce: get a c_nonce from the nonce endpoint and sign it');
    // Only the public members checkKeyProof returned ever reach cnf.
    return { jwt, key, nonce };
  }

  /** The library's checks of a proof that readProof accepted: signature, aud, and the nonce it names. */
  private async verifyProofSignature(proof: { jwt: string; nonce: string }, metadata: IssuerMetadataResult): Promise<void> {
    try {
      await this.protocol.issuer.verifyCredentialRequestJwtProof({
        issuerMetadata: metadata,
        jwt: proof.jwt,
        expectedNonce: proof.nonce,
      });
    } catch {
      throw oauthError(400, 'invalid_proof', 'The key proof signature, audience or claims do not verify');
    }
  }
}
