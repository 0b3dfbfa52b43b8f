import { Column, Entity, PrimaryColumn } from 'typeorm';
import { jsonColumn } from '../../persistence/index.js';

/**
 * `content_sealed` of a decided application: its content erased (the column stays NOT NULL, so the mark is the empty
 * string, which no sealed value is).
 */
export const ERASED_CONTENT = '';

/** pending (submitted, decisions open) → approved | rejected | expired, as the JointApproval contract says. */
export type ApplicationState = 'pending' | 'approved' | 'rejected' | 'expired';
export const APPLICATION_STATES = ['pending', 'approved', 'rejected', 'expired'] as const;

/**
 * An application for a credential under a joint-approval policy (issue 16), kept by the issuing department.
 * Its content (type, formats, claims) is sealed through src/keys together with the salt; only the salted
 * digest (`application_id`) and the policy id are on chain.
 */
@Entity('approval_applications')
export class ApprovalApplicationEntity {
  /** The applicant's reference (a UUID). */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** bytes32 id on chain (lowercase hex): keccak256(salt ‖ canonical content). */
  @Column({ name: 'application_id', type: 'varchar', length: 66, unique: true })
  applicationId!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  /** The deferred credential offer the wallet redeems; its approval follows the application. */
  @Column({ name: 'offer_id', type: 'varchar', length: 36 })
  offerId!: string;

  /** The on-chain policy id (decimal). */
  @Column({ name: 'policy_id', type: 'varchar', length: 80 })
  policyId!: string;

  /** {salt, content} sealed by src/keys, bound to `approval:<id>`. */
  @Column({ name: 'content_sealed', type: 'text' })
  contentSealed!: string;

  /**
   * A wallet-started application's applicant: an HMAC of the citizen's subject (no identifier stored); null when an
   * officer filed it. At most one pending application per applicant and type (a partial unique index).
   */
  @Column({ name: 'applicant_hash', type: 'varchar', length: 64, nullable: true })
  applicantHash!: string | null;

  /** SHA-256 of the applicant's read token (state and timeline polling). */
  @Column({ name: 'read_token_hash', type: 'varchar', length: 64 })
  readTokenHash!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: ApplicationState;

  /** Reason codes of the decisions that ended it (a JSON text column). */
  @Column(jsonColumn<string[]>({ name: 'reason_codes' }))
  reasonCodes!: string[];

  /** The outbox entry of the submit transaction. */
  @Column({ name: 'outbox_id', type: 'varchar', length: 36 })
  outboxId!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

export type StepKind = 'submitted' | 'decision' | 'approved' | 'rejected' | 'expired' | 'issued';
export const STEP_KINDS = ['submitted', 'decision', 'approved', 'rejected', 'expired', 'issued'] as const;

/** One step of an application's timeline; `id` is `<application ref>/<step>/<department or ->`: recorded once. */
@Entity('approval_steps')
export class ApprovalStepEntity {
  @PrimaryColumn({ type: 'varchar', length: 160 })
  id!: string;

  @Column({ name: 'application_ref', type: 'varchar', length: 36 })
  applicationRef!: string;

  @Column({ type: 'varchar', length: 16 })
  step!: StepKind;

  @Column({ type: 'varchar', length: 42, nullable: true })
  department!: string | null;

  @Column({ type: 'varchar', length: 8, nullable: true })
  decision!: 'approve' | 'reject' | null;

  @Column({ name: 'reason_code', type: 'varchar', length: 80, nullable: true })
  reasonCode!: string | null;

  @Column({ name: 'tx_hash', type: 'varchar', length: 66, nullable: true })
  txHash!: string | null;

  @Column({ name: 'block_number', type: 'integer', nullable: true })
  blockNumber!: number | null;

  @Column({ type: Date })
  at!: Date;
}

/** Where a department's next inbox scan of one JointApproval contract starts (a block number). */
@Entity('approval_inbox_cursors')
export class ApprovalInboxCursorEntity {
  /** The JointApproval contract address (lowercase). */
  @PrimaryColumn({ type: 'varchar', length: 42 })
  contract!: string;

  @Column({ name: 'next_block', type: 'integer' })
  nextBlock!: number;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}

/** A submission whose policy requires this department: open until we decided or the application closed. */
@Entity('approval_inbox')
export class ApprovalInboxEntity {
  /** bytes32 id on chain (lowercase hex). */
  @PrimaryColumn({ name: 'application_id', type: 'varchar', length: 66 })
  applicationId!: string;

  @Column({ type: 'varchar', length: 42 })
  contract!: string;

  @Column({ name: 'policy_id', type: 'varchar', length: 80 })
  policyId!: string;

  @Column({ name: 'tx_hash', type: 'varchar', length: 66 })
  txHash!: string;

  @Column({ name: 'block_number', type: 'integer' })
  blockNumber!: number;

  @Column({ type: 'varchar', length: 8 })
  state!: 'open' | 'closed';

  @Column({ name: 'found_at', type: Date })
  foundAt!: Date;
}

/**
 * A wallet's pushed authorization request for a type under a joint-approval policy (no offer yet): what the
 * application will be for once the citizen signed in. `id` is the offer id the application's offer gets
 * (the authorization session names it); the row is consumed when the application is filed.
 */
@Entity('approval_wallet_requests')
export class ApprovalWalletRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'agency_id', type: 'varchar', length: 36 })
  agencyId!: string;

  @Column({ name: 'type_id', type: 'varchar', length: 64 })
  typeId!: string;

  @Column(jsonColumn<string[]>({ name: 'configuration_ids' }))
  configurationIds!: string[];

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;
}
