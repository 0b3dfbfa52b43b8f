import { getAddress, type Log, type Result } from 'ethers';
import { contractInterface } from './contracts.js';

/**
 * ABI bindings for the governed issuer registry and the catalogue registry (ADR 11): pure encoders and
 * decoders. GovernedIssuerRegistry answers isAuthorised and emits IssuerAuthorisation exactly as
 * TrustedIssuerRegistry does, so the existing reader works on it once pointed at its address.
 */
const issuers = () => contractInterface('GovernedIssuerRegistry');
const catalogue = () => contractInterface('CatalogueRegistry');

export const issuersOfCall = (credentialType: string): string => issuers().encodeFunctionData('issuersOf', [credentialType]);

export const decodeIssuersOf = (result: string): string[] =>
  [...(issuers().decodeFunctionResult('issuersOf', result)[0] as Result)].map((issuer) => getAddress(issuer as string));

export interface CatalogueTypeRecord {
  typeId: string;
  schemaDigest: string;
  version: number;
  publishedAt: number;
  retired: boolean;
}

export const catalogueTypeCall = (typeId: string): string => catalogue().encodeFunctionData('typeOf', [typeId]);

/** The newest version of a catalogue type; undefined when it was never published. */
export function decodeCatalogueType(typeId: string, result: string): CatalogueTypeRecord | undefined {
  const found = catalogue().decodeFunctionResult('typeOf', result)[0] as Result;
  const version = Number(found[1]);
  if (version === 0) return undefined;
  return { typeId, schemaDigest: found[0] as string, version, publishedAt: Number(found[2]), retired: Boolean(found[3]) };
}

export const schemaDigestAtCall = (typeId: string, version: number): string =>
  catalogue().encodeFunctionData('schemaDigestAt', [typeId, version]);

export const decodeSchemaDigestAt = (result: string): string =>
  catalogue().decodeFunctionResult('schemaDigestAt', result)[0] as string;

export type CatalogueEvent =
  | { event: 'TypePublished'; typeId: string; version: number; schemaDigest: string }
  | { event: 'TypeRetired'; typeId: string; version: number };

export const catalogueEventTopics = (): string[] =>
  ['TypePublished', 'TypeRetired'].map((name) => catalogue().getEvent(name)!.topicHash);

export function decodeCatalogueLog(log: Pick<Log, 'topics' | 'data'>): CatalogueEvent | undefined {
  let parsed;
  try {
    parsed = catalogue().parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return undefined;
  }
  if (parsed?.name === 'TypePublished') {
    return {
      event: parsed.name,
      typeId: parsed.args[0] as string,
      version: Number(parsed.args[1]),
      schemaDigest: parsed.args[2] as string,
    };
  }
  if (parsed?.name === 'TypeRetired') {
    return { event: parsed.name, typeId: parsed.args[0] as string, version: Number(parsed.args[1]) };
  }
  return undefined;
}
