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
