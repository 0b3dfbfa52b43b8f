import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../persistence/index.js';
import type { AuditEntryEntity } from './audit.entity.js';
import { AuditRepository } from './audit.repository.js';
import { canonicalJson, nextStoredEntry, type AuditEntryRecord, type JsonValue } from './hash-chain.js';

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
  | 'approval.expired';

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
 * business write; without one it is its own transaction, right after.
 */
@Injectable()
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly repository: AuditRepository,
  ) {}

  append(event: AuditEvent, tx?: Tx): Promise<AuditEntryRecord> {
    const write = async (manager: Tx) => {
      const data = eventData(event);
      const stored = await this.repository.append(manager, (prev) => entryOf(prev, event, data));
      return toRecord(stored);
    };
    return tx ? write(tx) : this.db.transaction(write);
  }

  /** Appends several events in order inside `tx`, with one multi-row write (the issuance group commit). */
  async appendMany(events: AuditEvent[], tx: Tx): Promise<void> {
    const data = events.map(eventData);
    await this.repository.appendMany(tx, events.length, (prev, index) => entryOf(prev, events[index]!, data[index]!));
  }
}

/** The event's details as canonical JSON, encoded once (hashed and stored as is). */
const eventData = (event: AuditEvent) => canonicalJson(event.data ?? {});

/** The stored row of the entry after `prev` (seq 0: none yet). */
function entryOf(prev: { seq: number; entryHash: string }, event: AuditEvent, dataJson: string): AuditEntryEntity {
  return nextStoredEntry(
    prev.seq === 0 ? undefined : prev,
    { at: new Date().toISOString(), kind: event.kind, actor: event.actor.slice(0, 200), subject: event.subject.slice(0, 300) },
    dataJson,
  );
}
