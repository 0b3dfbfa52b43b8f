import type { Log, Result } from 'ethers';
import { contractInterface } from './contracts.js';

/** ABI bindings for contracts/DataSharingRegistry.sol (ADR 11): pure encoders and decoders, no I/O. */
const registry = () => contractInterface('DataSharingRegistry');

/** What governance grants: who (relying party, client id) may ask for which claims of which type, why, until when. */
export interface PermissionTerms {
  /** The relying party's DID, or another organisation identifier. */
  relyingParty: string;
  /** The client id as it appears in its OID4VP or OpenID Connect requests. */
  clientId: string;
  /** bytes32 key of the catalogue type (credentialTypeKey). */
  credentialType: string;
  /** Top-level claim names. */
  claims: string[];
  /** The declared purpose, shown to holders. */
  purpose: string;
  /** Unix seconds; the permission lapses at that second. */
  expiresAt: number;
}

export interface PermissionRecord {
  permissionId: bigint;
  terms: PermissionTerms;
  grantedAt: number;
  /** 0 while in force; otherwise when it was withdrawn or replaced. */
  withdrawnAt: number;
}

/** The contract's Verdict enum, in order. */
export const PERMISSION_VERDICTS = ['NoPermission', 'Permitted', 'Withdrawn', 'Expired', 'ClaimNotPermitted'] as const;
export type PermissionVerdict = (typeof PERMISSION_VERDICTS)[number];

/** The terms as the ABI tuple value (named fields). */
export function permissionTermsValue(terms: PermissionTerms): Record<string, unknown> {
  return { ...terms, claims: [...terms.claims] };
}

export function permissionTermsFrom(value: Result): PermissionTerms {
  return {
    relyingParty: value[0] as string,
    clientId: value[1] as string,
    credentialType: value[2] as string,
    claims: [...(value[3] as Result)].map(String),
    purpose: value[4] as string,
    expiresAt: Number(value[5]),
  };
}

// ---- reads ----

export function isPermittedCall(clientId: string, credentialType: string, claims: readonly string[]): string {
  return registry().encodeFunctionData('isPermitted', [clientId, credentialType, [...claims]]);
}

/** The verdict on a request and the permission it rests on (0 when there is none). */
export function decodeIsPermitted(result: string): { verdict: PermissionVerdict; permissionId: bigint } {
  const [verdict, permissionId] = registry().decodeFunctionResult('isPermitted', result);
  return { verdict: PERMISSION_VERDICTS[Number(verdict)]!, permissionId: permissionId as bigint };
}

export const permissionCall = (permissionId: bigint): string => registry().encodeFunctionData('permission', [permissionId]);

/** The result of permission(id); undefined for an id never granted. */
export function decodePermissionResult(permissionId: bigint, result: string): PermissionRecord | undefined {
  const found = registry().decodeFunctionResult('permission', result)[0] as Result;
  const grantedAt = Number(found[1]);
  if (grantedAt === 0) return undefined;
  return { permissionId, terms: permissionTermsFrom(found[0] as Result), grantedAt, withdrawnAt: Number(found[2]) };
}

export const currentPermissionCall = (clientId: string, credentialType: string): string =>
  registry().encodeFunctionData('currentPermission', [clientId, credentialType]);

export const decodeCurrentPermission = (result: string): bigint =>
  registry().decodeFunctionResult('currentPermission', result)[0] as bigint;

// ---- events ----

export type DataSharingEvent =
  | { event: 'PermissionGranted'; permissionId: bigint; terms: PermissionTerms; replaced: bigint }
  | { event: 'PermissionWithdrawn'; permissionId: bigint; clientIdHash: string; credentialType: string };

export const dataSharingEventTopics = (): string[] =>
  ['PermissionGranted', 'PermissionWithdrawn'].map((name) => registry().getEvent(name)!.topicHash);

export function decodeDataSharingLog(log: Pick<Log, 'topics' | 'data'>): DataSharingEvent | undefined {
  let parsed;
  try {
    parsed = registry().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return undefined;
  }
  if (parsed?.name === 'PermissionGranted') {
    return {
      event: parsed.name,
      permissionId: parsed.args[0] as bigint,
      terms: permissionTermsFrom(parsed.args[3] as Result),
      replaced: parsed.args[4] as bigint,
    };
  }
  if (parsed?.name === 'PermissionWithdrawn') {
    return {
      event: parsed.name,
      permissionId: parsed.args[0] as bigint,
      clientIdHash: parsed.args[1] as string,
      credentialType: parsed.args[2] as string,
    };
  }
  return undefined;
}
