import { Inject, Injectable, Logger } from '@nestjs/common';
import { getAddress } from 'ethers';
import { AuditLog } from '../../audit/index.js';
import {
  ConsortiumService,
  credentialTypeKey,
  JointApprovalChain,
  OutboxService,
  revertReason,
  type PolicyRecord,
} from '../../chain/index.js';
import {
  badRequest,
  bearerCredentials,
  jsonBoundsProblem,
  notFound,
  parseOrThrow,
  ProblemError,
  readCapped,
} from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { Catalogue } from '../../credentials/index.js';
import { KeyService } from '../../keys/index.js';
import { ChainBootstrap, MAX_BLOCKS_PER_QUERY } from '../../chain/index.js';
import { Database } from '../../persistence/index.js';
import { contentMatchesApplication, stepOfEvent } from './approval-rules.js';
import { decisionSchema } from './approval.schemas.js';
import { ApprovalService, type SealedApplication } from './approval.service.js';
import { InboxRepository } from './inbox.repository.js';
import { peerToken, peerTokenSigningInput, verifyPeerToken } from './peer-token.js';

/** How long a decision is waited for before the API answers "pending". */
const WRITE_WAIT_MS = 30_000;
/** Blocks one eth_getLogs request of an inbox scan covers, and most entries an inbox listing returns. */
/** Blocks per inbox scan request: ranges a node answers (Besu and others refuse wide eth_getLogs ranges). */
const INBOX_SCAN_BLOCKS = MAX_BLOCKS_PER_QUERY;
const INBOX_MAX = 100;
/** How long the content request to the issuing department may take. */
const PEER_TIMEOUT_MS = 10_000;
/** An application's content (claims of one licence) is a few KB; a member that sends more is refused. */
const PEER_CONTENT_MAX_BYTES = 256 * 1024;

const refused = (reason: string) =>
  new ProblemError(409, 'approval_refused', 'Refused by the JointApproval contract', `The contract would refuse it: ${reason}`, {
    reason,
  });

/**
 * A department's side of joint approval (issue 16, ADR 17): the inbox of applications waiting for its
 * decision (read from the chain), one application with its decisions, timeline and content (fetched from
 * the issuing department with a token signed by our controller), and the decision itself: simulated by
 * eth_call first (409 with the contract's error name), then an outbox write signed by the controller.
 */
/** Why a peer's content is not shown, in our words. */
class ContentUnavailable extends Error {}

@Injectable()
export class DepartmentApprovals {
  private readonly logger = new Logger('DepartmentApprovals');

  constructor(
    private readonly db: Database,
    private readonly chain: JointApprovalChain,
    private readonly bootstrap: ChainBootstrap,
    private readonly outbox: OutboxService,
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly audit: AuditLog,
    private readonly approvals: ApprovalService,
    private readonly inboxEntries: InboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly consortium: ConsortiumService,
  ) {}

  private typeIdOf(credentialType: string): string | null {
    return this.catalogue.all().find((type) => credentialTypeKey(type.id) === credentialType)?.id ?? null;
  }

  private entry(
    submitted: { applicationId: string; txHash: string; blockNumber: number },
    policy: PolicyRecord,
    approvals: number,
    submittedAt: number,
    deadline: number,
  ) {
    return {
      applicationId: submitted.applicationId.toLowerCase(),
      policyId: policy.policyId.toString(),
      credentialType: policy.terms.credentialType,
      typeId: this.typeIdOf(policy.terms.credentialType),
      issuingDepartment: policy.terms.issuingDepartment,
      submittedAt,
      deadline,
      approvals,
      required: policy.terms.required,
      txHash: submitted.txHash,
      blockNumber: submitted.blockNumber,
    };
  }

  /**
   * Applications that are pending, whose policy requires us, and that we have not decided yet (newest
   * first). The ApplicationSubmitted logs are scanned from a stored cursor (first from the contract's
   * deployment block) in bounded eth_getLogs ranges; submissions under a policy that lists us are kept as
   * open entries until we decided or the application closed, so old pending ones are never lost.
   */
  async inbox() {
    const me = await this.chain.controllerAddress();
    const contract = this.chain.address;
    const policies = new Map<string, PolicyRecord | undefined>();
    const policyOf = async (policyId: bigint) => {
      const key = policyId.toString();
      if (!policies.has(key)) policies.set(key, await this.chain.policy(policyId));
      return policies.get(key);
    };
    await this.scanSubmissions(contract, me, policyOf);
    const found = [];
    for (const open of await this.inboxEntries.open(contract, INBOX_MAX * 2)) {
      if (found.length >= INBOX_MAX) break;
      const application = await this.chain.application(open.applicationId);
      const policy = application && (await policyOf(application.policyId));
      const mine = application && (await this.chain.decisions(open.applicationId)).find((decision) => decision.department === me);
      // Its submission was logged, so a node that knows no such application (or policy) is behind, not final:
      // the entry stays open for a node that has caught up. Only a settled application or our decision closes it.
      if (!application || !policy) continue;
      if (application.outcome !== 'Pending' || (mine && mine.decision !== 'None')) {
        await this.inboxEntries.close(open.applicationId);
        continue;
      }
      found.push(this.entry(open, policy, application.approvals, application.submittedAt, application.deadline));
    }
    return found;
  }

  /** Reads new ApplicationSubmitted logs from the cursor up to the latest block and keeps the ones that need us. */
  private async scanSubmissions(
    contract: string,
    me: string,
    policyOf: (policyId: bigint) => Promise<PolicyRecord | undefined>,
  ): Promise<void> {
    let cursor = await this.inboxEntries.cursor(contract);
    const start = cursor ?? (await this.chain.deploymentBlock());
    const latest = await this.chain.latestBlock();
    for (let from = start; from <= latest; from += INBOX_SCAN_BLOCKS) {
      const to = Math.min(from + INBOX_SCAN_BLOCKS - 1, latest);
      const entries = [];
      for (const submitted of await this.chain.submissionsBetween(from, to)) {
        if (submitted.event.event !== 'ApplicationSubmitted') continue;
        const policy = await policyOf(submitted.event.policyId);
        if (!policy?.terms.departments.includes(me)) continue;
        entries.push({
          applicationId: submitted.event.applicationId.toLowerCase(),
          contract: contract.toLowerCase(),
          policyId: submitted.event.policyId.toString(),
          txHash: submitted.txHash,
          blockNumber: submitted.blockNumber,
          state: 'open' as const,
          foundAt: new Date(),
        });
      }
      await this.inboxEntries.add(entries);
      // Another replica moved it first: it scanned the same range, and the entries are stored once.
      if (!(await this.inboxEntries.advance(contract, cursor, to + 1))) return;
      cursor = to + 1;
    }
  }

  /** One application as the chain holds it, with its timeline and (when the issuer answers) its content. */
  async show(applicationId: string) {
    const application = await this.chain.application(applicationId);
    if (!application) throw notFound(`No application ${applicationId} on chain`);
    const policy = (await this.chain.policy(application.policyId))!;
    // From the inbox entry's block when we have one; from the start if its submission is not found there (a chain
    // whose blocks were renumbered: the embedded node replayed after a crash).
    const from = (await this.inboxEntries.blockOf(applicationId)) ?? 0;
    let { logs } = await this.chain.logsOf(applicationId, from);
    if (from > 0 && !logs.some((log) => log.event.event === 'ApplicationSubmitted'))
      ({ logs } = await this.chain.logsOf(applicationId, 0));
    const submittedLog = logs.find((log) => log.event.event === 'ApplicationSubmitted');
    if (!submittedLog) throw notFound(`No submission of application ${applicationId} on chain`);
    const submitted = { applicationId, txHash: submittedLog.txHash, blockNumber: submittedLog.blockNumber };
    const timeline = logs.flatMap((log) => {
      const step = stepOfEvent(log.event);
      return step
        ? [{ ...step, configurationId: null, txHash: log.txHash, blockNumber: log.blockNumber, at: new Date().toISOString() }]
        : [];
    });
    let content: SealedApplication['content'] | null = null;
    let contentError: string | null = null;
    try {
      content = await this.fetchContent(applicationId, policy.terms.issuingDepartment);
    } catch (error) {
      // Our own reasons as they are. A library's may quote the peer's body (personal data): only its kind is logged.
      contentError = error instanceof ContentUnavailable ? error.message : "the issuing department's answer could not be read";
      if (!(error instanceof ContentUnavailable))
        this.logger.warn({ applicationId, error: (error as Error).name }, 'peer content unreadable');
    }
    return {
      ...this.entry(submitted, policy, application.approvals, application.submittedAt, application.deadline),
      outcome: application.outcome as 'Pending' | 'Approved' | 'Rejected' | 'Expired',
      departments: policy.terms.departments,
      decisions: await this.chain.decisions(applicationId),
      timeline,
      content,
      contentError,
    };
  }

  /** This department's decision: refused up front when the contract would refuse it, else sent and waited for. */
  async decide(applicationId: string, body: unknown) {
    const input = parseOrThrow(decisionSchema, body);
    // Only codes the operator configured go on chain: a well-formed code can still spell a name or an ID in pieces.
    const allowed = this.config.chain.consortium.reasonCodes;
    if (input.reasonCode !== undefined && !allowed.includes(input.reasonCode))
      throw badRequest("The reason code is not one of this department's (APPROVAL_REASON_CODES)", [
        { path: 'reasonCode', message: `one of: ${allowed.join(', ')}` },
      ]);
    const reasonCode = input.reasonCode ?? '';
    const refusal = await this.chain.decisionRefusal(applicationId, input.approve, reasonCode);
    if (refusal) throw refused(refusal);
    const department = await this.chain.controllerAddress();
    const write = await this.chain.decisionWrite(applicationId, input.approve, reasonCode);
    // One decision on its way at a time, across replicas: the simulation above cannot see one not mined yet (an
    // approval queued during a chain outage, then a rejection), and the audit trail would record both.
    const outboxId = await this.db.exclusively(`chancery:approval-decision:${applicationId}`, async () => {
      const queued = await this.chain.queuedWrite(applicationId, 'approval:decide');
      if (queued) throw refused(`AlreadyDecided (this department's decision is on its way to the chain, outbox ${queued})`);
      return this.db.transaction(async (tx) => {
        const id = await this.chain.enqueue(tx, write);
        await this.audit.append(
          {
            kind: 'approval.decided',
            actor: 'operator',
            subject: `application:${applicationId}`,
            data: { applicationId, department, approve: input.approve, reasonCode: reasonCode || undefined, outboxId: id },
          },
          tx,
        );
        return id;
      });
    });
    return this.waitForWrite(
      outboxId,
      applicationId,
      input.approve ? 'joint-approval approval mined' : 'joint-approval rejection mined',
    );
  }

  /**
   * Closes an application whose deadline passed (the contract's expire: Rejected with deadline-missed):
   * simulated first (409 DeadlineNotPassed, ApplicationNotPending, …), then an outbox write signed by our
   * controller with an audit entry in the same transaction. Any member may do it; the issuing department's
   * watcher then settles the application as expired.
   */
  async expire(applicationId: string) {
    const refusal = await this.chain.expireRefusal(applicationId);
    if (refusal) throw refused(refusal);
    const department = await this.chain.controllerAddress();
    const write = await this.chain.expireWrite(applicationId);
    const outboxId = await this.db.transaction(async (tx) => {
      const id = await this.chain.enqueue(tx, write);
      await this.audit.append(
        {
          kind: 'approval.expire.requested',
          actor: 'operator',
          subject: `application:${applicationId}`,
          data: { applicationId, department, outboxId: id },
        },
        tx,
      );
      return id;
    });
    return this.waitForWrite(outboxId, applicationId, 'joint-approval expiry mined');
  }

  private async waitForWrite(outboxId: string, applicationId: string, message: string) {
    let entry;
    try {
      entry = await this.outbox.waitFinal(outboxId, WRITE_WAIT_MS);
    } catch {
      return { outboxId, status: 'pending' as const, txHash: null, blockNumber: null, outcome: null };
    }
    if (entry.status === 'reverted') throw refused(revertReason(entry.lastError));
    // The decision is mined: a node that cannot be read now must not turn it into an error the officer retries.
    const application = await this.chain.application(applicationId).catch(() => undefined);
    this.logger.log({ applicationId, txHash: entry.txHash }, message);
    return {
      outboxId,
      status: 'mined' as const,
      txHash: entry.txHash,
      blockNumber: entry.blockNumber,
      outcome: application?.outcome === 'None' ? null : (application?.outcome ?? null),
    };
  }

  /** GET <issuer>/consortium/approvals/<id>/content with a token signed by our controller key. */
  private async fetchContent(applicationId: string, issuingDepartment: string): Promise<SealedApplication['content']> {
    const me = await this.chain.controllerAddress();
    if (getAddress(issuingDepartment) === me) {
      const own = await this.approvals.content(applicationId);
      if (!own) throw new ContentUnavailable('not in our database, or erased at its decision');
      return own.content;
    }
    const base = this.config.chain.consortium.peerUrls[issuingDepartment.toLowerCase()];
    if (!base) throw new ContentUnavailable(`no CONSORTIUM_PEER_URLS entry for the issuing department ${issuingDepartment}`);
    const { signingInput, digest } = peerTokenSigningInput(me, applicationId, Math.floor(Date.now() / 1000));
    const token = peerToken(signingInput, await this.keys.signDigest(await this.bootstrap.governorKeyId(), digest));
    // A member's peer URL is configured, but what answers there is theirs: no redirect is followed (our token would
    // go along), and the body is read within a cap, parsed within the JSON bounds.
    const response = await fetch(`${base}/consortium/approvals/${applicationId}/content`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
      redirect: 'manual',
    }).catch((error: unknown) => {
      throw new ContentUnavailable(`the issuing department could not be reached (${(error as Error).name})`);
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new ContentUnavailable(`the issuing department answered ${response.status}`);
    }
    const body = await readCapped(response, PEER_CONTENT_MAX_BYTES, 'content too large')
      .then((text) => {
        const parsed: unknown = JSON.parse(text);
        if (jsonBoundsProblem(parsed)) throw new Error('out of bounds');
        return parsed;
      })
      .catch(() => {
        throw new ContentUnavailable('the issuing department sent content that is too large or not JSON');
      });
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ContentUnavailable('the issuing department sent content that is not a JSON object');
    const { salt, content } = body as Partial<SealedApplication>;
    if (!contentMatchesApplication(applicationId, salt as string, content as SealedApplication['content'])) {
      throw new ContentUnavailable('the content the issuing department sent is not what the application id commits to');
    }
    return content as SealedApplication['content'];
  }

  /**
   * The issuing side of the peer API: the content of one of our applications for a department that proves
   * (signature) it is a required department of the application's policy on chain.
   */
  async contentForPeer(applicationId: string, authorization: string | undefined) {
    const token = bearerCredentials(authorization);
    let signer: string;
    try {
      if (!token) throw new Error('no bearer token');
      signer = verifyPeerToken(token, applicationId, Math.floor(Date.now() / 1000));
    } catch (error) {
      throw new ProblemError(401, 'unauthorized', 'Authentication required', `Peer token refused: ${(error as Error).message}`);
    }
    let policy: Awaited<ReturnType<JointApprovalChain['policy']>> | undefined;
    // Personal data is decrypted only for a required department of the application's policy on chain.
    const sealed = await this.approvals.content(applicationId, async (filed) => {
      const application = await this.chain.application(applicationId);
      // The id on chain under another policy than ours: someone submitted it first (front-running our submit);
      // its departments are not ours to serve.
      if (!application || application.policyId.toString() !== filed.policyId)
        throw notFound(`No application ${applicationId} here`);
      policy = await this.chain.policy(application.policyId);
      if (!policy) throw notFound(`No application ${applicationId} here`);
      if (!policy.terms.departments.includes(signer))
        throw new ProblemError(403, 'forbidden', 'Forbidden', 'Only a required department of the policy may read the content');
      // A department removed from the consortium keeps its place in old policies, not its access.
      if (!(await this.consortium.isMember(signer)))
        throw new ProblemError(403, 'forbidden', 'Forbidden', 'Only a current member of the consortium may read the content');
      // The content is for deciding: once the chain has an outcome, no department reads it any more. (Said only to a
      // department that may ask: the outcome is no one else's business.)
      if (application.outcome !== 'Pending')
        throw new ProblemError(
          403,
          'forbidden',
          'Forbidden',
          `The application is decided (${application.outcome}); its content is no longer served`,
        );
    });
    if (!sealed || !policy) throw notFound(`No application ${applicationId} here`);
    // Personal data leaves this department: who read which application is in the audit trail (no content).
    await this.audit.append({
      kind: 'approval.content.served',
      actor: `department:${signer}`,
      subject: `application:${applicationId.toLowerCase()}`,
      data: { applicationId: applicationId.toLowerCase(), department: signer, policyId: policy.policyId.toString() },
    });
    return { applicationId: applicationId.toLowerCase(), salt: sealed.salt, content: sealed.content };
  }
}
