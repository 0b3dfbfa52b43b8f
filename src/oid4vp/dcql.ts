import { DcqlQuery } from 'dcql';
import type { Violation } from '../common/index.js';
import type { Catalogue, CredentialFormat } from '../credentials/index.js';

export interface RequestedCredential {
  /** The DCQL credential query id (the key of the presentation in vp_token). */
  queryId: string;
  typeId: string;
  format: CredentialFormat;
  /** Top-level claim names asked for. */
  claims: string[];
  /** The claims' full paths (a jwt_vc_json path without its leading credentialSubject): what the verdict keeps. */
  paths?: ClaimPath[];
}

/** A DCQL claims path (OID4VP 1.0 §7.1): object member names, array indices, null for every element. */
export type ClaimPath = readonly (string | number | null)[];

/** IRIs of W3C credential types after JSON-LD expansion under the VCDM 2.0 base context. */
const VC_TYPE_IRIS = {
  /** `VerifiableCredential` (the same in the VCDM 1.1 context). */
  base: 'https://www.w3.org/2018/credentials#',
  /** The VCDM 2.0 context's `@vocab`: a type it does not define, as our licence types are, expands under it. */
  issuerDependent: 'https://www.w3.org/ns/credentials/issuer-dependent#',
};

/**
 * A credential's types as a `jwt_vc_json` DCQL query may name them (OID4VP 1.0 B.1.1: `type_values` are the
 * fully expanded IRIs; many verifiers write the short names): the short names and their VCDM 2.0 expansions.
 */
export function vcTypeValues(types: readonly string[]): string[] {
  const expanded = types.map((type) =>
    type === 'VerifiableCredential' ? VC_TYPE_IRIS.base + type : VC_TYPE_IRIS.issuerDependent + type,
  );
  return [...types, ...expanded];
}

/** The short name of a type given as one of vcTypeValues' expansions exactly, or the value itself. */
export function shortVcType(value: string): string {
  if (value === VC_TYPE_IRIS.base + 'VerifiableCredential') return 'VerifiableCredential';
  const name = value.startsWith(VC_TYPE_IRIS.issuerDependent) ? value.slice(VC_TYPE_IRIS.issuerDependent.length) : undefined;
  return name && name !== 'VerifiableCredential' ? name : value;
}

export class DcqlProblem extends Error {
  constructor(
    message: string,
    readonly violations: Violation[],
  ) {
    super(message);
  }
}

/**
 * Parses a DCQL query with the `dcql` library and maps each credential query to a catalogue type and the
 * claim names it asks for. Queries must name their claims: asking for a whole credential is refused.
 */
export function analyseDcqlQuery(
  input: unknown,
  catalogue: Catalogue,
): { query: DcqlQuery.Output; requested: RequestedCredential[] } {
  let query: DcqlQuery.Output;
  try {
    query = DcqlQuery.parse(input as DcqlQuery.Input);
    DcqlQuery.validate(query);
  } catch (error) {
    throw new DcqlProblem('The DCQL query is invalid', [
      { path: dcqlIssuePath(error), message: 'does not match the DCQL schema' },
    ]);
  }
  const violations: Violation[] = [];
  const requested: RequestedCredential[] = [];
  for (const [index, credential] of query.credentials.entries()) {
    const path = `dcql_query.credentials.${index}`;
    const format = credential.format as string;
    const meta = (credential.meta ?? {}) as { vct_values?: string[]; type_values?: string[][] };
    let typeId: string | undefined;
    if (format === 'dc+sd-jwt') {
      const types = new Set((meta.vct_values ?? []).map((vct) => catalogue.byVct(vct)?.id));
      typeId = types.size === 1 ? [...types][0] : undefined;
      if (!typeId) violations.push({ path: `${path}.meta.vct_values`, message: 'must name exactly one catalogue vct' });
    } else if (format === 'jwt_vc_json') {
      // Alternatives naming one type (as withExpandedTypes sends them, and the stored request is analysed again when
      // the wallet answers) are that type.
      const types = new Set((meta.type_values ?? []).map((values) => catalogue.byVcTypes(values.map(shortVcType), false)?.id));
      typeId = types.size === 1 ? [...types][0] : undefined;
      if (!typeId)
        violations.push({ path: `${path}.meta.type_values`, message: 'must name exactly one catalogue credential type' });
    } else {
      violations.push({ path: `${path}.format`, message: 'only dc+sd-jwt and jwt_vc_json are supported' });
      continue;
    }
    // Served as the spec has them, or refused here rather than asked of a wallet whose conforming answer we would
    // reject: every presentation must be bound to the holder (a KB-JWT, a holder-signed VP), and trust is the
    // chain's registry, not DCQL `trusted_authorities` (the verdict would need an authority for each credential).
    const options = credential as { require_cryptographic_holder_binding?: unknown; trusted_authorities?: unknown };
    if (options.require_cryptographic_holder_binding === false)
      violations.push({
        path: `${path}.require_cryptographic_holder_binding`,
        message: 'must be true: presentations are always bound to their holder',
      });
    if (options.trusted_authorities !== undefined)
      violations.push({
        path: `${path}.trusted_authorities`,
        message: 'is not supported: issuers are trusted through the consortium registry',
      });
    // DCQL: with claim_sets every claim has an id, and no two of a credential query share one; the library checks only
    // that the ids claim_sets names exist, and a repeated id would let the verdict keep a claim of an option not met.
    const hasClaimSets = (credential as { claim_sets?: unknown }).claim_sets !== undefined;
    const claimIds = new Set<string>();
    for (const [claimIndex, claim] of (credential.claims ?? []).entries()) {
      const id = (claim as { id?: unknown }).id;
      if (typeof id === 'string' && claimIds.has(id))
        violations.push({ path: `${path}.claims.${claimIndex}.id`, message: 'repeats the id of another claim' });
      else if (typeof id === 'string') claimIds.add(id);
      else if (hasClaimSets)
        violations.push({ path: `${path}.claims.${claimIndex}.id`, message: 'is required when claim_sets is present' });
    }
    const claims: string[] = [];
    const paths: ClaimPath[] = [];
    for (const [claimIndex, claim] of (credential.claims ?? []).entries()) {
      const claimPath = (claim as { path?: unknown[] }).path ?? [];
      const inSubject = format === 'jwt_vc_json' && claimPath[0] === 'credentialSubject' ? claimPath.slice(1) : claimPath;
      const name = inSubject[0];
      if (typeof name !== 'string') {
        violations.push({ path: `${path}.claims.${claimIndex}.path`, message: 'must name a claim' });
        continue;
      }
      claims.push(name);
      paths.push(inSubject as ClaimPath);
    }
    if (claims.length === 0)
      violations.push({ path: `${path}.claims`, message: 'name the claims you need; whole credentials are not released' });
    if (typeId) requested.push({ queryId: credential.id, typeId, format: format as CredentialFormat, claims, paths });
  }
  if (violations.length > 0) throw new DcqlProblem('The DCQL query cannot be served', violations);
  const vcTypes = new Map(requested.map((credential) => [credential.queryId, catalogue.get(credential.typeId)?.vcType]));
  return { query: withExpandedTypes(withSubjectPaths(query), vcTypes), requested };
}

/**
 * `jwt_vc_json` type_values as OpenID4VP 1.0 B.1.1 has them, whatever form the relying party used: "the fully expanded
 * types (IRIs) after the @context was applied", so a wallet that expands its credentials' types finds ours. One
 * alternative per form a credential of that type may take: VCDM 2.0 (the type expands under the context's @vocab),
 * VCDM 1.1 (its context defines VerifiableCredential only; our type stays as written) and the short names, which
 * wallets comparing `type` as written (the dcql library) match.
 */
function withExpandedTypes(query: DcqlQuery.Output, vcTypes: Map<string, string | undefined>): DcqlQuery.Output {
  return {
    ...query,
    credentials: query.credentials.map((credential) => {
      const vcType = vcTypes.get(credential.id);
      if (credential.format !== 'jwt_vc_json' || !vcType) return credential;
      const base = `${VC_TYPE_IRIS.base}VerifiableCredential`;
      const typeValues = [
        [base, VC_TYPE_IRIS.issuerDependent + vcType],
        [base, vcType],
        ['VerifiableCredential', vcType],
      ];
      return { ...credential, meta: { ...credential.meta, type_values: typeValues } };
    }),
  } as DcqlQuery.Output;
}

/**
 * A `jwt_vc_json` claims path as OpenID4VP 1.0 §7 applies it, to the credential: `["given_name"]`, which we take as
 * shorthand, becomes `["credentialSubject", "given_name"]`, so a wallet that follows the path to the letter finds
 * the claim. Our own matching reads either (describeForDcql puts the claims at both places).
 */
function withSubjectPaths(query: DcqlQuery.Output): DcqlQuery.Output {
  return {
    ...query,
    credentials: query.credentials.map((credential) =>
      credential.format === 'jwt_vc_json' && credential.claims
        ? {
            ...credential,
            claims: credential.claims.map((claim) =>
              !('path' in claim) || claim.path[0] === 'credentialSubject'
                ? claim
                : { ...claim, path: ['credentialSubject', ...claim.path] },
            ),
          }
        : credential,
    ),
  } as DcqlQuery.Output;
}

/** Data minimisation: every requested claim must be in the relying party's registration. */
export function claimsBeyondRegistration(requested: RequestedCredential[], allowed: Record<string, string[]>): Violation[] {
  const violations: Violation[] = [];
  for (const credential of requested) {
    const permitted = allowed[credential.typeId] ?? [];
    for (const claim of credential.claims) {
      if (!permitted.includes(claim)) {
        violations.push({
          path: `${credential.queryId}.${claim}`,
          message: `not in this relying party's registration for ${credential.typeId}`,
        });
      }
    }
  }
  return violations;
}

/**
 * Where a DCQL parse failed, from the library's issue list when it has one (valibot issues carry a path
 * of keys), as `dcql_query.credentials.0.format`; the library's message (which echoes input) is not sent.
 */
function dcqlIssuePath(error: unknown): string {
  const issues = (error as { issues?: unknown })?.issues;
  const first = Array.isArray(issues) ? (issues[0] as { path?: unknown } | undefined) : undefined;
  const keys = Array.isArray(first?.path)
    ? first.path
        .map((step: { key?: unknown }) => step?.key)
        .filter((key): key is string | number => ['string', 'number'].includes(typeof key))
    : [];
  const path = [
    'dcql_query',
    ...keys.map((key) =>
      String(key)
        .replace(/[^A-Za-z0-9_-]/g, '?')
        .slice(0, 40),
    ),
  ].slice(0, 8);
  return path.join('.');
}
