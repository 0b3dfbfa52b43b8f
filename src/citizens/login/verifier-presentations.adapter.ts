import { Injectable } from '@nestjs/common';
import { KeyService } from '../../keys/index.js';
import {
  PresentationRequestService,
  RelyingPartyService,
  VerdictDeliveryService,
  type RelyingPartyEntity,
} from '../../verifier/index.js';
import { CitizenLoginRepository } from './login.repository.js';
import { allowedClaimsUnion } from './scopes.js';
import { findOrRegisterInternalParty } from '../internal-relying-party.js';
import type { PresentationOutcome, StartPresentation, StartedPresentation, WalletPresentations } from './wallet-presentations.js';

/** How the internal relying party presents itself in the citizen's wallet. */
const INTERNAL_PARTY = {
  name: 'Chancery 电子证照登录 / wallet login',
  purpose: '登录政务服务 / Sign in to a public service',
};

interface Verdict {
  verified: boolean;
  credentials: { type?: string; issuer?: string; claims?: Record<string, unknown>; checks?: unknown[]; discarded?: true }[];
}

/**
 * WalletPresentations over the verifier's relying-party, presentation-request and verdict services (the OID4VP requests, the full verification:
 * DID on chain, status, issuer authorisation, key binding). Requests are made as one internal relying party,
 * registered automatically once per deployment and per claims union of the scope table, its API key kept
 * sealed in `citizen_login_settings`.
 *
 * When the verifier is split (relying-parties / presentations), this file is the one to re-point: see
 * docs/notes/oidc.md.
 */
@Injectable()
export class VerifierPresentationsAdapter implements WalletPresentations {
  private party: Promise<RelyingPartyEntity> | undefined;

  constructor(
    private readonly parties: RelyingPartyService,
    private readonly requests: PresentationRequestService,
    private readonly verdicts: VerdictDeliveryService,
    private readonly logins: CitizenLoginRepository,
    private readonly keys: KeyService,
  ) {}

  async start(request: StartPresentation): Promise<StartedPresentation> {
    // The request names the portal (shown in the wallet, kept in the holder's records with the verdict).
    // The data-sharing permission is recorded by the caller and enforced with issue 15.
    const created = await this.requests.create(
      await this.internalParty(),
      { dcql_query: request.dcqlQuery, ...(request.returnUri ? { redirect_uri: request.returnUri } : {}) },
      request.purpose,
    );
    return {
      id: created.id,
      link: created.link,
      qrPng: created.qr.png,
      qrSvg: created.qr.svg,
      expiresAt: created.expiresAt,
      readToken: created.viewToken,
    };
  }

  async outcome(id: string, readToken: string, responseCode?: string): Promise<PresentationOutcome> {
    const state = await this.verdicts.resultForView(id, readToken, responseCode);
    if (state.responseCodeRequired) return { status: 'answered', responseCodeRequired: true };
    if (state.status === 'pending') return { status: 'pending' };
    const verdict = state.result as Verdict | undefined;
    if (state.status === 'expired' || !verdict) return { status: 'expired' };
    const credential = verdict.credentials.find((entry) => !entry.discarded);
    if (state.status === 'verified' && verdict.verified && credential?.type && credential.issuer) {
      return {
        status: 'verified',
        requestId: id,
        credentialType: credential.type,
        issuer: credential.issuer,
        claims: credential.claims ?? {},
      };
    }
    const failed = verdict.credentials.flatMap((entry) =>
      (entry.checks ?? [])
        .filter((check): check is { check: string; passed: boolean } => typeof check === 'object' && check !== null)
        .filter((check) => !check.passed)
        .map((check) => check.check),
    );
    return { status: 'rejected', failedChecks: failed.length ? [...new Set(failed)] : ['presentation'] };
  }

  private internalParty(): Promise<RelyingPartyEntity> {
    this.party ??= this.findOrRegisterParty().catch((error: unknown) => {
      this.party = undefined;
      throw error;
    });
    return this.party;
  }

  private findOrRegisterParty(): Promise<RelyingPartyEntity> {
    return findOrRegisterInternalParty(
      { parties: this.parties, settings: this.logins, keys: this.keys },
      'login-relying-party',
      INTERNAL_PARTY,
      allowedClaimsUnion(),
    );
  }
}
