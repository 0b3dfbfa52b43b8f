import { getAddress, type Log, type Result } from 'ethers';
import { contractInterface } from './contracts.js';

/** ABI bindings for contracts/AuditAnchor.sol (ADR 11, issue 17): pure encoders and decoders, no I/O. */
const auditAnchor = () => contractInterface('AuditAnchor');

export interface AuditAnchorRecord {
  department: string;
  index: number;
  fromSeq: bigint;
  toSeq: bigint;
  root: string;
  anchoredAt: number;
}

/** anchor(fromSeq, toSeq, root): the sender's next range must start right after its previous one (at 1 first). */
export const anchorRangeCall = (fromSeq: bigint, toSeq: bigint, root: string): string =>
  auditAnchor().encodeFunctionData('anchor', [fromSeq, toSeq, root]);

export const nextSequenceCall = (department: string): string => auditAnchor().encodeFunctionData('nextSequence', [department]);

export const decodeNextSequence = (result: string): bigint =>
  auditAnchor().decodeFunctionResult('nextSequence', result)[0] as bigint;

/** anchorOf(department, seq): the anchor covering an entry; the call reverts (NotAnchored) when none does. */
export const anchorOfCall = (department: string, seq: bigint): string =>
  auditAnchor().encodeFunctionData('anchorOf', [department, seq]);

export function decodeAnchorOf(department: string, result: string): AuditAnchorRecord {
  const [index, found] = auditAnchor().decodeFunctionResult('anchorOf', result) as unknown as [bigint, Result];
  return anchorRecord(department, Number(index), found);
}

export const anchorAtCall = (department: string, index: number): string =>
  auditAnchor().encodeFunctionData('anchorAt', [department, index]);

export function decodeAnchorAt(department: string, index: number, result: string): AuditAnchorRecord {
  return anchorRecord(department, index, auditAnchor().decodeFunctionResult('anchorAt', result)[0] as Result);
}

export const anchorCountCall = (department: string): string => auditAnchor().encodeFunctionData('anchorCount', [department]);

export const decodeAnchorCount = (result: string): number => Number(auditAnchor().decodeFunctionResult('anchorCount', result)[0]);

function anchorRecord(department: string, index: number, found: Result): AuditAnchorRecord {
  return {
    department: getAddress(department),
    index,
    fromSeq: found[0] as bigint,
    toSeq: found[1] as bigint,
    anchoredAt: Number(found[2]),
    root: found[3] as string,
  };
}

// ---- events ----

export const auditAnchorEventTopics = (): string[] => [auditAnchor().getEvent('RangeAnchored')!.topicHash];

/** A RangeAnchored log as a record (anchoredAt is the block's time: read it from the block). */
export function decodeAuditAnchorLog(log: Pick<Log, 'topics' | 'data'>): Omit<AuditAnchorRecord, 'anchoredAt'> | undefined {
  let parsed;
  try {
    parsed = auditAnchor().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return undefined;
  }
  if (parsed?.name !== 'RangeAnchored') return undefined;
  return {
    department: getAddress(parsed.args[0] as string),
    index: Number(parsed.args[1]),
    fromSeq: parsed.args[2] as bigint,
    toSeq: parsed.args[3] as bigint,
    root: parsed.args[4] as string,
  };
}
