import { isAddress } from 'ethers';
import type { z } from 'zod';

/**
 * A 0x address; mixed case only with a valid EIP-55 checksum (a typo is refused at start-up, not met later). The
 * configuration's own copy of src/common's isEthereumAddress: config sits below common.
 */
export const isChecksummedAddress = (value: string | undefined): boolean =>
  /^0x[0-9a-fA-F]{40}$/.test(value?.trim() ?? '') && isAddress(value!.trim());

/** The consortium of departments (issue 15, ADR 15). */
export interface ConsortiumConfig {
  /**
   * Base of the SD-JWT VC `vct` URLs of the catalogue types (`<base>/vct/<type id>`): one namespace for the
   * whole consortium, so that a department's verifier recognises the types another department issues.
   */
  vctBaseUrl: string | undefined;
  /** The governance contract to follow (joining); unset: the one recorded, or deploy one (founders below). */
  address: string | undefined;
  /** This department's name as a member (≤ 64 bytes, public). */
  departmentName: string;
  /** Further founding members when this instance deploys the consortium (this department is always first). */
  founders: { member: string; name: string }[];
  threshold: number;
  /** Refuse OID4VP requests that no data-sharing permission covers; a registered permission always binds. */
  dataSharingEnforced: boolean;
  /**
   * Base URLs of other departments' Chancery, by controller address (lowercase): where a required department
   * fetches an application's content from the issuing department (joint approval, issue 16).
   */
  peerUrls: Record<string, string>;
  /**
   * The reason codes this department's officers may put on chain with a decision (APPROVAL_REASON_CODES): a list the
   * operator sets, so that no officer can type an ID number or a name into a permanent public record.
   */
  reasonCodes: string[];
}

/**
 * A reason code as the JointApproval contract takes it (lowercase ASCII, digits, dot, dash, underscore; at most 31)
 * with no run of four digits: the form every configured code must have.
 */
export const REASON_CODE_PATTERN = /^(?!.*[0-9]{4})[a-z0-9][a-z0-9._-]{0,30}$/;

/** APPROVAL_REASON_CODES unset: generic reasons a licensing department gives. */
export const DEFAULT_REASON_CODES = [
  'incomplete-application',
  'documents-missing',
  'requirements-not-met',
  'inspection-failed',
  'fire-exits-missing',
  'fire-safety-not-met',
  'environmental-impact',
  'zoning-not-permitted',
  'duplicate-application',
  'withdrawn-by-applicant',
];

/** Reason codes separated by commas, each of REASON_CODE_PATTERN's form; unset or empty: the defaults. */
export function parseReasonCodes(value: string, ctx: z.RefinementCtx): string[] {
  const codes = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const code of codes)
    if (!REASON_CODE_PATTERN.test(code))
      ctx.addIssue({
        code: 'custom',
        message: `"${code.slice(0, 40)}" is no reason code (lowercase letters, digits (at most three in a row), . _ -; at most 31)`,
      });
  return codes.length ? [...new Set(codes)] : DEFAULT_REASON_CODES;
}

/** Peer departments, `0xController=https://base-url` separated by commas. */
export function parsePeerUrls(value: string, ctx: z.RefinementCtx): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const item of value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    const [member, ...rest] = item.split('=');
    const url = rest.join('=').trim();
    let valid = isChecksummedAddress(member);
    try {
      valid &&= ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      valid = false;
    }
    if (!valid) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not 0x<controller address>=<http(s) base URL>` });
      continue;
    }
    peers[member!.trim().toLowerCase()] = url.replace(/\/$/, '');
  }
  return peers;
}

/** Further founding members, `0xController=Department name` separated by commas (this department comes first). */
export function parseFounders(value: string, ctx: z.RefinementCtx): { member: string; name: string }[] {
  const founders: { member: string; name: string }[] = [];
  for (const item of value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)) {
    const [member, ...rest] = item.split('=');
    const name = rest.join('=').trim();
    if (!isChecksummedAddress(member) || !name || Buffer.byteLength(name, 'utf8') > 64) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not 0x<controller address>=<department name (≤ 64 bytes)>` });
      continue;
    }
    founders.push({ member: member!.trim(), name });
  }
  return founders;
}
