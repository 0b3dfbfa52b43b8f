import { Injectable } from '@nestjs/common';
import { Database, type GroupWrite, type Tx } from '../persistence/index.js';
import type { AuditEntryEntity } from './audit.entity.js';
import { AuditRepository, type AuditContent } from './audit.repository.js';
import { AuditSealer } from './audit-sealer.js';
import { canonicalJson, type AuditEntryRecord, type JsonValue } from './hash-chain.js';

/** What happened. The names are stable: audit:verify and auditors read them. */
export type AuditKind =
  | 'agency.created'
  | 'agency.api_key.created'
  | 'agency.api_key.revoked'
  | 'agency.authorisation.changed'
  | 'catalogue.changed'
  | 'credential.issued'
  | 'credential.status.changed'
  | 'presentation.verdict'
  | 'relying_party.registered'
  | 'relying_party.api_key.created'
  | 'relying_party.api_key.revoked'
  | 'oidc.client.created'
  | 'oidc.client.deleted'
  | 'oidc.login'
  | 'approval.submitted'
  | 'approval.decided'
  | 'approval.expire.requested'
  | 'approval.content.served'
  | 'approval.approved'
  | 'approval.rejected'
  | 'approval.expired'
  | 'offer.approved';

export interface AuditEvent {
  kind: AuditKind;
  /** `operator`, `agency:<id>`, `relying-party:<id>`, `oidc-client:<id>`, `wallet`, `system`. */
  actor: string;
  /** A reference to what the event is about, e.g. `agency:<id>`, `credential:<id>`. */
  subject: string;
  /** Ids, digests, claim NAMES, reasons: never personal data or claim values. */
  data?: { [key: string]: JsonValue | undefined };
}

export const toRecord = (row: AuditEntryEntity): AuditEntryRecord => ({
  ...row,
  data: JSON.parse(row.data) as AuditEntryRecord['data'],
});

/**
 * The append-only audit log (ADR 16). `append` inside the caller's transaction commits the entry with the
 * business write; without one it is its own transaction, right after. Issuance group commits use
 * `groupAppend` (ADR 20).
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly repository: AuditRepository,
    private readonly sealer: AuditSealer,
  ) {}

  async append(event: AuditEvent, tx?: Tx): Promise<AuditEntryRecord> {
    const write = async (manager: Tx) => (await this.repository.appendMany(manager, [contentOf(event)]))[0]!;
    return toRecord(await (tx ? write(tx) : this.db.transaction(write)));
  }

  /** Appends several events in order inside `tx`, with one multi-row write. */
  async appendMany(events: AuditEvent[], tx: Tx): Promise<void> {
    await this.repository.appendMany(tx, events.map(contentOf));
  }

  /**
   * The audit part of an issuance group commit (ADR 20). PostgreSQL: one statement recording the entries
   * as pending, in the credentials' own commit, chained right after it by the sealer (so concurrent group
   * commits do not queue on the head row); call `afterGroupCommit` once committed. SQLite (one writer
   * anyway): chained inside the group's transaction, as `appendMany`.
   */
  groupAppend(events: AuditEvent[]): GroupWrite {
    const contents = events.map(contentOf);
    if (this.db.kind === 'postgres') return { statements: [this.repository.pendingStatement(contents)] };
    return { statements: [], inTransaction: async (tx) => void (await this.repository.appendMany(tx, contents)) };
  }

  /** After a group commit holding `groupAppend` entries: chain them soon (coalesced, never throws). */
  afterGroupCommit(): void {
    if (this.db.kind === 'postgres') this.sealer.sealSoon();
  }

  /** Chains every entry pending now (tests, anchoring). */
  seal(): Promise<void> {
    return this.sealer.seal();
  }
}

/** An event's stored content before chaining: its details as canonical JSON, encoded once (hashed and stored as is). */
function contentOf(event: AuditEvent): AuditContent {
  return {
    at: new Date().toISOString(),
    kind: event.kind,
    actor: event.actor.slice(0, 200),
    subject: event.subject.slice(0, 300),
    data: canonicalJson(event.data ?? {}),
  };
}
