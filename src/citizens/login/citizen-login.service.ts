import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Interaction } from 'oidc-provider';
import { merged, notFound, pollIntervalMs } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { HmacKeys, KeyService } from '../../keys/index.js';
import { Catalogue, readJosePart } from '../../credentials/index.js';
import { CitizenLoginRepository, LoginTakenOver } from './login.repository.js';
import type { CitizenLoginEntity } from './login.entity.js';
import { OidcClientRepository } from './provider-records.repository.js';
import { OpenIdProvider } from './openid-provider.js';
import { loginPage } from './login-page.js';
import {
  acrFor,
  LOGIN_SCOPES,
  loginDcqlQuery,
  parseScope,
  releasedClaims,
  selectLoginScope,
  subjectValue,
  type LoginScope,
} from './scopes.js';
import { accountIdFor, SUBJECT_KEY_NAME } from './subject.js';
import { WALLET_PRESENTATIONS, type PresentationOutcome, type WalletPresentations } from './wallet-presentations.js';
import { AuditLog } from '../../audit/index.js';
import { Database } from '../../persistence/index.js';

/**
 * A login whose finishing began this long ago without giving the interaction a result is taken as abandoned
 * (its process died half-way) and may be finished by the next poll. Finishing takes milliseconds.
 */
const STALE_FINISH_SECONDS = 30;

type Raw = { req: IncomingMessage; res: ServerResponse };
type Selected = { scope: string; entry: LoginScope; releasesClaims: boolean };

/** What a login page keeps sealed: the requests' links and QR code, and the capabilities to read their outcomes. */
interface PageState {
  cross: { link: string; qrSvg: string; qrPng: string; readToken: string };
  same?: { id: string; link: string; readToken: string };
}

export type LoginStatus =
  | { status: 'pending' | 'expired' | 'gone' }
  | { status: 'rejected'; failedChecks: string[] }
  | { status: 'verified'; continueTo: string }
  /** The sign-in ran out of time: the browser goes back to the portal with access_denied. */
  | { status: 'ended'; continueTo: string };

/**
 * A sign-in ends this long before its provider interaction would expire: time enough for the page's poll to send
 * the browser back to the portal with an error (an expired interaction has nowhere to send it).
 */
export const SIGN_IN_END_MARGIN_MS = 30_000;

const signInEnd = (interaction: Interaction): number => interaction.exp * 1000 - SIGN_IN_END_MARGIN_MS;

/**
 * The login interaction: a page per oidc-provider interaction with an OID4VP request shown as a QR code
 * (cross-device) and, when the citizen follows the same-device link, a second request that returns the browser
 * to us; both verified by the verifier through the WalletPresentations port. A
 * verified presentation becomes a pseudonymous account, a grant of the requested scopes, the released
 * claims (sealed, for the retention period), and the interaction's result.
 */
@Injectable()
export class CitizenLoginService {
  private readonly logger = new Logger('CitizenLogin');

  constructor(
    private readonly op: OpenIdProvider,
    private readonly logins: CitizenLoginRepository,
    private readonly clients: OidcClientRepository,
    @Inject(WALLET_PRESENTATIONS) private readonly presentations: WalletPresentations,
    private readonly keys: KeyService,
    private readonly hmacKeys: HmacKeys,
    private readonly catalogue: Catalogue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditLog,
    private readonly db: Database,
  ) {}

  /** The page, or (for a request the login cannot serve) the redirect that returns the error to the portal. */
  async page(raw: Raw, uid: string, notice?: { status: 'rejected' | 'expired'; failedChecks?: string[] }) {
    const interaction = await this.interaction(raw, uid);
    const selected = selectLoginScope(parseScope(interaction.params.scope));
    if ('error' in selected) {
      return {
        redirect: await this.op.provider.interactionResult(raw.req, raw.res, {
          error: selected.error,
          error_description: selected.description,
        }),
      };
    }
    let login = await this.logins.login(uid);
    if (login?.finishedAt && interaction.result) return { redirect: interaction.returnTo };
    if (Date.now() >= signInEnd(interaction)) return { redirect: await this.timedOut(raw) };
    if (login && !notice && login.expiresAt > new Date()) {
      const state = await this.state(login);
      const outcome = await this.presentations.outcome(login.crossDeviceRequestId, state.cross.readToken);
      const settled = await this.settle(raw, interaction, login, outcome);
      if (settled.status === 'verified') return { redirect: settled.continueTo };
      if (settled.status === 'pending') return { html: await this.render(interaction, selected, login, state) };
    }
    // A new page, a reload after an expired or refused answer, or a refused same-device answer: fresh requests.
    login = await this.startRequests(interaction, selected, login);
    return { html: await this.render(interaction, selected, login, await this.state(login), notice) };
  }

  /** Polled by the page: the cross-device request's outcome; a verified one finishes the interaction. */
  async status(raw: Raw, uid: string): Promise<LoginStatus> {
    const interaction = await this.interaction(raw, uid);
    const login = await this.logins.login(uid);
    if (!login) return { status: 'gone' };
    if (interaction.result && login.finishedAt) return { status: 'verified', continueTo: interaction.returnTo };
    if (login.finishedAt && login.finishedAt >= abandonedBefore(new Date())) return { status: 'pending' };
    // A portal deleted meanwhile: the sign-in has ended (nothing is finished for it).
    if (!(await this.portalStillRegistered(interaction))) return { status: 'gone' };
    const outcome = await this.presentations.outcome(login.crossDeviceRequestId, (await this.state(login)).cross.readToken);
    const settled = await this.settle(raw, interaction, login, outcome);
    // Out of time and not signed in: back to the portal with an error, before the interaction is gone.
    if (settled.status !== 'verified' && Date.now() >= signInEnd(interaction)) {
      return { status: 'ended', continueTo: await this.timedOut(raw) };
    }
    return settled;
  }

  /**
   * The same-device link: a request whose wallet answer sends the browser back to `wallet-return`, made when the
   * citizen follows the link (most logins use one of the two ways) and reused while it is unanswered.
   */
  async sameDeviceLink(raw: Raw, uid: string): Promise<string> {
    const interaction = await this.interaction(raw, uid);
    const login = await this.logins.login(uid);
    if (!login || login.finishedAt) throw notFound('No sign-in in progress in this browser; start again from the site');
    const state = await this.state(login);
    if (state.same && login.sameDeviceRequestId === state.same.id) {
      const outcome = await this.presentations.outcome(state.same.id, state.same.readToken);
      if (outcome.status === 'pending') return state.same.link;
    }
    const selected = selectLoginScope(parseScope(interaction.params.scope));
    if ('error' in selected) throw notFound('No sign-in in progress in this browser; start again from the site');
    const started = await this.presentations.start(
      merged(await this.requestBase(interaction, selected), {
        returnUri: `${this.op.issuer}/interaction/${interaction.uid}/wallet-return`,
      }),
    );
    const next: PageState = merged(state, { same: { id: started.id, link: started.link, readToken: started.readToken } });
    const sealed = await this.keys.sealJson(next, `login-page:${uid}`);
    // Two clicks at once: the first stored request wins and both browsers open it.
    if (await this.logins.setSameDevice(uid, login.sameDeviceRequestId, started.id, sealed)) return started.link;
    const current = await this.logins.login(uid);
    const stored = current ? (await this.state(current)).same : undefined;
    if (!stored) throw notFound('No sign-in in progress in this browser; start again from the site');
    return stored.link;
  }

  /** The wallet's same-device redirect: its response code releases the verdict of the same-device request. */
  async walletReturn(raw: Raw, uid: string, responseCode: unknown) {
    const interaction = await this.interaction(raw, uid);
    const login = await this.logins.login(uid);
    const state = login ? await this.state(login) : undefined;
    if (!login || !state?.same || typeof responseCode !== 'string' || responseCode.length > 200) return this.page(raw, uid);
    const outcome = await this.presentations.outcome(state.same.id, state.same.readToken, responseCode);
    const settled = await this.settle(raw, interaction, login, outcome);
    if (settled.status === 'verified') return { redirect: settled.continueTo };
    if (settled.status === 'rejected') return this.page(raw, uid, { status: 'rejected', failedChecks: settled.failedChecks });
    // Another request is finishing this sign-in (the wallet's redirect arrived twice): the page, which polls until the
    // sign-in is done, not the expired page, which does not.
    if (settled.status === 'pending') return this.page(raw, uid);
    return this.page(raw, uid, { status: 'expired' });
  }

  private async portalStillRegistered(interaction: Interaction): Promise<boolean> {
    return (await this.clients.byId(String(interaction.params.client_id))) !== null;
  }

  /** The sign-in's time is up: the portal gets access_denied (the page sends the browser there). */
  private timedOut(raw: Raw): Promise<string> {
    return this.op.provider.interactionResult(raw.req, raw.res, {
      error: 'access_denied',
      error_description: 'the sign-in timed out',
    });
  }

  /** The citizen gives up: the portal gets access_denied. */
  async cancel(raw: Raw, uid: string): Promise<string> {
    await this.interaction(raw, uid);
    return this.op.provider.interactionResult(raw.req, raw.res, {
      error: 'access_denied',
      error_description: 'the citizen cancelled the sign-in',
    });
  }

  private async settle(
    raw: Raw,
    interaction: Interaction,
    login: CitizenLoginEntity,
    outcome: PresentationOutcome,
  ): Promise<LoginStatus> {
    switch (outcome.status) {
      case 'verified': {
        if (!(await this.portalStillRegistered(interaction))) return { status: 'expired' };
        const finished = await this.finish(raw, interaction, login, outcome);
        if (finished === 'in-progress') return { status: 'pending' };
        return finished ? { status: 'verified', continueTo: finished } : { status: 'rejected', failedChecks: ['subject'] };
      }
      case 'rejected':
        return { status: 'rejected', failedChecks: outcome.failedChecks };
      case 'expired':
        return { status: 'expired' };
      default:
        // pending, or answered on the citizen's device (its redirect carries the response code to us).
        return { status: 'pending' };
    }
  }

  /**
   * Turns a verified presentation into the interaction's result, once (a conditional UPDATE on the page):
   * the account id from the subject claim, a grant of the requested scopes, the claims for the portal.
   * Returns where the browser continues, 'in-progress' when another request is finishing it, or undefined
   * when the presentation cannot log anyone in (another type, no subject claim).
   */
  private async finish(
    raw: Raw,
    interaction: Interaction,
    login: CitizenLoginEntity,
    outcome: Extract<PresentationOutcome, { status: 'verified' }>,
  ): Promise<string | 'in-progress' | undefined> {
    const scopes = parseScope(interaction.params.scope);
    const selected = selectLoginScope(scopes);
    if ('error' in selected || outcome.credentialType !== selected.entry.typeId) return undefined;
    const subject = subjectValue(selected.entry, outcome.claims);
    if (!subject) return undefined;
    // Once: a conditional UPDATE on the page (a finish abandoned by a dead process may be taken over, but never
    // one that gave the interaction its result).
    const now = new Date();
    const takeOverBefore = interaction.result ? undefined : abandonedBefore(now);
    if (!(await this.logins.finishLogin(login.interactionUid, now, takeOverBefore))) return 'in-progress';
    // This finish owns the page while `finished_at` is `now` (a takeover sets another): its grant is recorded
    // and the page reopened only under that condition. Read again for a grant committed meanwhile.
    const page = { ...((await this.logins.login(login.interactionUid)) ?? login), finishedAt: now };
    try {
      return await this.grantLogin(raw, interaction, page, selected, scopes, subject, outcome);
    } catch (error) {
      await this.logins.reopenLogin(login.interactionUid, now);
      // Taken over: the other finish answers the citizen; this poll is told to wait, not a server error.
      if (error instanceof LoginTakenOver) return 'in-progress';
      throw error;
    }
  }

  private async grantLogin(
    raw: Raw,
    interaction: Interaction,
    page: CitizenLoginEntity,
    selected: Selected,
    scopes: string[],
    subject: string,
    outcome: Extract<PresentationOutcome, { status: 'verified' }>,
  ): Promise<string> {
    const disclosed = outcome.claims;
    const accountId = await accountIdFor(
      (message) => this.hmacKeys.hmacSha256(SUBJECT_KEY_NAME, message),
      selected.entry.subjectNamespace,
      subject,
    );
    const clientId = interaction.params.client_id;
    // A portal that named its user (id_token_hint) gets login_required for anyone else (Core §3.1.2.1), not a
    // login the provider would then refuse and ask for again.
    const hinted = hintedSubject(interaction.params.id_token_hint);
    if (hinted !== undefined && hinted !== (await this.op.subjectFor(accountId, clientId))) {
      return this.op.provider.interactionResult(
        raw.req,
        raw.res,
        { error: 'login_required', error_description: 'the citizen who signed in is not the one id_token_hint names' },
        { mergeWithLastSubmission: false },
      );
    }
    const acr = acrFor(selected.entry.typeId);
    const grantId =
      (await this.committedGrant(page, accountId, clientId)) ??
      (await this.newGrant(page, selected, scopes, disclosed, accountId, clientId, acr));
    return this.op.provider.interactionResult(
      raw.req,
      raw.res,
      // The presentation chose the account: it also answers prompt=select_account.
      { login: { accountId, acr, amr: ['pop'], remember: false }, consent: { grantId }, select_account: {} },
      { mergeWithLastSubmission: false },
    );
  }

  /**
   * The grant an earlier finish of this page committed before it failed or died (giving the interaction its
   * result is what remains), when it is for the same account and portal; its claims are still kept.
   */
  private async committedGrant(page: CitizenLoginEntity, accountId: string, clientId: string): Promise<string | undefined> {
    if (!page.grantId) return undefined;
    const kept = await this.logins.claims(page.grantId, new Date());
    return kept?.accountId === accountId && kept.clientId === clientId ? kept.grantId : undefined;
  }

  /** A grant of the scopes, its released claims, the audit entry and the page's record of it, committed together. */
  private async newGrant(
    page: CitizenLoginEntity,
    selected: Selected,
    scopes: string[],
    disclosed: Record<string, unknown>,
    accountId: string,
    clientId: string,
    acr: string,
  ): Promise<string> {
    const grant = new this.op.provider.Grant({ accountId, clientId });
    grant.addOIDCScope(scopes.filter((scope) => scope === 'openid' || Object.hasOwn(LOGIN_SCOPES, scope)).join(' '));
    const grantId = await grant.save();
    const now = new Date();
    const claims = {
      grantId,
      clientId,
      accountId,
      claimsSealed: await this.keys.sealJson(releasedClaims(selected, disclosed), `login-claims:${grantId}`),
      purgeAt: new Date(now.getTime() + this.config.oidc.claimsRetentionSeconds * 1000),
      createdAt: now,
    };
    const login = { clientId, sub: (await this.op.subjectFor(accountId, clientId)) ?? null, acr, grantId };
    // The released claims, the login's audit entry and the page's grant commit together: a retried finish
    // completes with this grant instead of writing a second one.
    await this.db.transaction(async (tx) => {
      await this.logins.insertClaims(claims, tx);
      await this.audit.append({ kind: 'oidc.login', actor: 'wallet', subject: `oidc-client:${clientId}`, data: login }, tx);
      await this.logins.recordGrant(page.interactionUid, page.finishedAt!, grantId, tx);
    });
    this.logger.log({ event: 'oidc_login', clientId, acr }, 'citizen logged in');
    return grantId;
  }

  /** What the wallet is asked, for the portal of this interaction. */
  private async requestBase(interaction: Interaction, selected: Selected) {
    const client = await this.clients.byId(interaction.params.client_id);
    return {
      dcqlQuery: loginDcqlQuery(selected, this.catalogue.get(selected.entry.typeId)!.vct),
      purpose: `登录 / Sign in to ${client?.name ?? interaction.params.client_id}`,
      ...(client?.dataSharingPermission ? { dataSharingPermission: client.dataSharingPermission } : {}),
    };
  }

  /** The page's cross-device request, stored (or swapped in for a previous one) with its capability sealed. */
  private async startRequests(interaction: Interaction, selected: Selected, previous: CitizenLoginEntity | null) {
    const cross = await this.presentations.start(await this.requestBase(interaction, selected));
    const state: PageState = {
      cross: { link: cross.link, qrSvg: cross.qrSvg, qrPng: cross.qrPng, readToken: cross.readToken },
    };
    const login: CitizenLoginEntity = {
      interactionUid: interaction.uid,
      clientId: interaction.params.client_id,
      scope: selected.scope,
      crossDeviceRequestId: cross.id,
      sameDeviceRequestId: null,
      pageSealed: await this.keys.sealJson(state, `login-page:${interaction.uid}`),
      // The page ends with its request (or the sign-in), whichever ends first.
      expiresAt: new Date(Math.min(cross.expiresAt.getTime(), signInEnd(interaction))),
      finishedAt: null,
      grantId: null,
      createdAt: new Date(),
    };
    if (!previous) return this.logins.insertLogin(login);
    if (await this.logins.replaceLogin(previous.crossDeviceRequestId, login)) return login;
    return (await this.logins.login(interaction.uid)) ?? login;
  }

  private async render(
    interaction: Interaction,
    selected: Selected,
    login: CitizenLoginEntity,
    state: PageState,
    notice?: { status: 'rejected' | 'expired'; failedChecks?: string[] },
  ): Promise<string> {
    const client = await this.clients.byId(login.clientId);
    const type = this.catalogue.get(selected.entry.typeId);
    const pageUrl = `${this.op.issuer}/interaction/${interaction.uid}`;
    return loginPage({
      clientName: client?.name ?? login.clientId,
      credentialName: type ? `${type.display['zh-CN'].name} / ${type.display.en.name}` : selected.entry.typeId,
      releasedClaims: selected.releasesClaims ? Object.values(selected.entry.claims) : [],
      crossDevice: { link: state.cross.link, qrSvg: state.cross.qrSvg, qrPng: state.cross.qrPng },
      sameDeviceUrl: `${pageUrl}/same-device`,
      statusUrl: `${pageUrl}/status`,
      pollMs: pollIntervalMs([this.config.platform.rateLimitPerResourcePerMinute], this.config.platform.pagePollMs),
      cancelUrl: `${pageUrl}/cancel`,
      notice,
    });
  }

  private state(login: CitizenLoginEntity): Promise<PageState> {
    return this.keys.openJson<PageState>(login.pageSealed, `login-page:${login.interactionUid}`);
  }

  /** The interaction named by the browser's signed interaction cookie, which must be the one in the path. */
  private async interaction(raw: Raw, uid: string): Promise<Interaction> {
    let interaction: Interaction;
    try {
      interaction = await this.op.provider.interactionDetails(raw.req, raw.res);
    } catch (error) {
      // An outage (the provider's 503) says nothing about the sign-in: the page keeps polling through it, where a 404
      // would end the sign-in for good.
      if (((error as { statusCode?: number }).statusCode ?? 0) >= 500) throw error;
      throw notFound('No sign-in in progress in this browser; start again from the site you are signing in to');
    }
    if (interaction.uid !== uid) throw notFound('No sign-in in progress in this browser; start again from the site');
    return interaction;
  }
}

/**
 * The `sub` of the ID token a portal sent as `id_token_hint`: the provider verified it (ours, unexpired or not)
 * when it took the authorization request, and the parameters are kept on our side since.
 */
function hintedSubject(hint: unknown): string | undefined {
  const sub = typeof hint === 'string' ? readJosePart(hint, 1)?.['sub'] : undefined;
  return typeof sub === 'string' ? sub : undefined;
}

/** A finish that began before this was abandoned (see STALE_FINISH_SECONDS). */
function abandonedBefore(now: Date): Date {
  return new Date(now.getTime() - STALE_FINISH_SECONDS * 1000);
}
