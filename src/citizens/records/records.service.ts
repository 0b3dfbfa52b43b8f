import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { badRequest, notFound, parseOrThrow } from '../../common/index.js';
import { Catalogue } from '../../credentials/index.js';
import { KeyService } from '../../keys/index.js';
import { UsageLog, type UsageRecord } from '../../audit/index.js';
import {
  PresentationRequestService,
  RelyingPartyService,
  VerdictDeliveryService,
  type RelyingPartyEntity,
} from '../../verifier/index.js';
import { CitizenLoginRepository } from '../login/login.repository.js';
import { findOrRegisterInternalParty } from '../internal-relying-party.js';

/** How the usage-log page presents itself in the wallet. */
const RECORDS_PARTY = {
  name: 'Chancery 用证记录 / my records',
  purpose: '查看本证照的使用记录 / Show where this credential was used',
};

/**
 * The one claim the wallet is asked for (DCQL queries must name claims): a required, least personal one of
 * each type. The page shows none; the verdict holding it is sealed and purged like every verdict.
 */
const PROOF_CLAIM: Record<string, string> = {
  'driving-licence': 'expiry_date',
  'resident-identity': 'birth_date',
  'business-licence': 'enterprise_type',
  'professional-qualification': 'level',
};

const SAME_DEVICE_CONTEXT = 'citizen-records:same-device';
/** Settings row marking a relying party as this page's own: `records-party:<relying party id>`. */
const RECORDS_PARTY_MARK = 'records-party:';

export const startRecordsSchema = z.object({ type: z.string().min(1).max(100) });

export type RecordsOutcome =
  | { status: 'pending' | 'expired' }
  | { status: 'rejected'; reason: string }
  | { status: 'verified'; credential: { type: string; issuer: string }; records: UsageRecord[] };

interface Verdict {
  verified: boolean;
  credentials: { type?: string; issuer?: string; checks?: { check: string; passed: boolean }[]; discarded?: true }[];
}

/**
 * The holder's usage log (用证记录, ADR 16): the citizen proves possession of a credential with an OID4VP
 * presentation (key binding required) to an internal relying party, and then reads every verification of
 * that credential recorded here. The records are found through the fingerprint of the presented
 * credential, recorded with this very verdict, so nobody without the credential can list them.
 */
@Injectable()
export class RecordsService {
  private party: { key: string; party: Promise<RelyingPartyEntity> } | undefined;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly parties: RelyingPartyService,
    private readonly requests: PresentationRequestService,
    private readonly verdicts: VerdictDeliveryService,
    private readonly settings: CitizenLoginRepository,
    private readonly keys: KeyService,
    private readonly usage: UsageLog,
  ) {}

  /** The SD-JWT types a holder can look up, with their display names (the page's chooser). */
  types(): { id: string; name: string }[] {
    const claims = this.proofClaims();
    return this.catalogue
      .list()
      .filter((type) => claims[type.id]?.length)
      .map((type) => ({ id: type.id, name: `${type.display['zh-CN'].name} / ${type.display.en.name}` }));
  }

  /**
   * An OID4VP request for the wallet. With `returnUri` (same-device flow) the wallet sends the browser back
   * there with a response_code, and the outcome is released only to whoever shows it (OID4VP 1.0 §13.3).
   */
  async start(body: unknown, returnUri?: string) {
    const { type } = parseOrThrow(startRecordsSchema, body);
    const entry = this.catalogue.get(type);
    if (!entry || !entry.formats.includes('dc+sd-jwt') || !this.proofClaims()[type]) {
      throw badRequest(`No SD-JWT credential type "${type}"`, [{ path: 'type', message: 'unknown credential type' }]);
    }
    const created = await this.requests.create(await this.internalParty(), {
      dcql_query: {
        credentials: [
          {
            id: 'credential',
            format: 'dc+sd-jwt',
            meta: { vct_values: [entry.vct] },
            claims: this.proofClaims()[type]!.map((claim) => ({ path: [claim] })),
          },
        ],
      },
      ...(returnUri ? { redirect_uri: returnUri } : {}),
    });
    return {
      id: created.id,
      link: created.link,
      qrSvg: created.qr.svg,
      readToken: created.viewToken,
      expiresAt: created.expiresAt.toISOString(),
    };
  }

  async outcome(id: string, readToken: unknown, responseCode?: unknown): Promise<RecordsOutcome> {
    if (typeof readToken !== 'string' || readToken.length === 0) throw notFound(`No records request ${id}`);
    // Only this page's own requests: a relying party's view token must not open its citizen's whole usage log.
    const state = await this.verdicts.resultForView(id, readToken, responseCode, (partyId) => this.isRecordsParty(partyId));
    if (state.status === 'pending') return { status: 'pending' };
    // A same-device answer is released only with the response_code the wallet gave the citizen's browser.
    if (state.responseCodeRequired) {
      return responseCode === undefined
        ? { status: 'pending' }
        : { status: 'rejected', reason: 'the answer came back to another browser (response code does not match)' };
    }
    const verdict = state.result as Verdict | undefined;
    if (state.status === 'expired' || !verdict) return { status: 'expired' };
    const credential = verdict.credentials.find((entry) => !entry.discarded);
    if (!verdict.verified || !credential?.type || !credential.issuer)
      return { status: 'rejected', reason: 'the presentation was not verified' };
    // Possession, not just a copy: a credential without a holder key could be replayed by anyone it was shown to.
    if (!credential.checks?.some((check) => check.check === 'holder_binding' && check.passed)) {
      return { status: 'rejected', reason: 'the credential is not bound to a holder key' };
    }
    const [fingerprint, ...others] = await this.usage.fingerprintsOfRequest(id);
    if (!fingerprint || others.length) return { status: 'rejected', reason: 'the presented credential was not recorded' };
    return {
      status: 'verified',
      credential: { type: credential.type, issuer: credential.issuer },
      records: await this.usage.usage(fingerprint),
    };
  }

  /** The same-device request of this browser, sealed for an HttpOnly cookie (the read token never in a URL). */
  async sealBrowserRequest(request: { id: string; readToken: string }): Promise<string> {
    return this.keys.sealJson(request, SAME_DEVICE_CONTEXT);
  }

  /** The browser's same-device request, or undefined for a missing, altered or foreign cookie. */
  async openBrowserRequest(sealed: string | undefined): Promise<{ id: string; readToken: string } | undefined> {
    if (!sealed || sealed.length > 4_000) return undefined;
    try {
      const opened = await this.keys.openJson<{ id?: unknown; readToken?: unknown }>(sealed, SAME_DEVICE_CONTEXT);
      return typeof opened.id === 'string' && typeof opened.readToken === 'string'
        ? { id: opened.id, readToken: opened.readToken }
        : undefined;
    } catch {
      return undefined;
    }
  }

  private proofClaims(): Record<string, string[]> {
    return Object.fromEntries(
      this.catalogue
        .list()
        .filter((type) => type.formats.includes('dc+sd-jwt'))
        .map((type) => [type.id, [PROOF_CLAIM[type.id] ?? type.claims.required?.[0]].filter((c): c is string => !!c)]),
    );
  }

  /**
   * Whether a relying party is (or was) this page's internal party. A new catalogue makes a new party, so the
   * current one is marked in the settings table before it makes its first request, and every replica asks there.
   */
  private async isRecordsParty(partyId: string): Promise<boolean> {
    await this.internalParty();
    return (await this.settings.setting(`${RECORDS_PARTY_MARK}${partyId}`)) !== null;
  }

  /** The party for the catalogue as it is now: a type created (here or on another replica) needs the next one. */
  private internalParty(): Promise<RelyingPartyEntity> {
    const claims = this.proofClaims();
    const key = JSON.stringify(claims);
    if (this.party?.key !== key) {
      const party = this.findOrRegisterParty(claims).catch((error: unknown) => {
        if (this.party?.party === party) this.party = undefined;
        throw error;
      });
      this.party = { key, party };
    }
    return this.party.party;
  }

  private async findOrRegisterParty(claims: Record<string, string[]>): Promise<RelyingPartyEntity> {
    const party = await findOrRegisterInternalParty(
      { parties: this.parties, settings: this.settings, keys: this.keys },
      'records-relying-party',
      RECORDS_PARTY,
      claims,
    );
    await this.settings.settingOnce(`${RECORDS_PARTY_MARK}${party.id}`, 'records');
    return party;
  }
}
