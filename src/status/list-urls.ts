import type { StatusListKind, StatusPurpose } from './status.entity.js';

/** The purposes each list kind is published for: a bitstring list per purpose, one token list for both. */
export const PURPOSES_BY_KIND: Record<StatusListKind, StatusPurpose[]> = {
  bitstring: ['revocation', 'suspension'],
  token: ['token'],
};

export const LIST_MEDIA_TYPE: Record<StatusListKind, string> = {
  bitstring: 'application/vc+jwt',
  token: 'application/statuslist+jwt',
};

/** Where a list version is served; also its `sub` (token lists) or `id` (bitstring lists). */
export const statusListUrl = (baseUrl: string, listId: string, purpose: StatusPurpose): string =>
  `${baseUrl}/status/${listId}/${purpose}`;
