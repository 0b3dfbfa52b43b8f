import { DcqlPresentationResult, type DcqlCredentialPresentation, type DcqlQuery } from 'dcql';

export interface VpTokenLimits {
  /** Most presentations in one vp_token, over all credential queries. */
  maxEntries: number;
}

/** A query id or other wallet-chosen text, shortened for a reason string. */
const safe = (text: string) => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);

/**
 * Query ids whose vp_token value is not an array (OID4VP 1.0 §8.1: "arrays of one or more Presentations"; a bare
 * string was draft 24's form, which the protocol library still turns into a one-item array). `vpToken` as the
 * response carried it: an object, or its JSON text in a form post.
 */
export function bareDcqlPresentations(vpToken: unknown): string[] {
  let value = vpToken;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return [];
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value)
    .filter(([, presentations]) => !Array.isArray(presentations))
    .map(([queryId]) => queryId);
}

/**
 * The structure of a DCQL vp_token (query id → presentations) checked against the query before anything
 * is verified: only known query ids, at least one presentation each, more than one only where the query
 * allows `multiple`, strings only, at most `maxEntries` in total, and something presented unless every
 * credential set is optional. Returns the problems (empty: fine).
 */
export function vpTokenProblems(query: DcqlQuery.Output, vpToken: Record<string, unknown>, limits: VpTokenLimits): string[] {
  const problems: string[] = [];
  let total = 0;
  const entries = Object.entries(vpToken);
  // §8.1: no entry for an optional query the wallet has nothing for; empty is wrong only where something is required.
  if (entries.length === 0 && presenceProblems(query, []).length > 0) problems.push('vp_token holds no presentation');
  for (const [queryId, value] of entries) {
    const credentialQuery = query.credentials.find((credential) => credential.id === queryId);
    if (!credentialQuery) {
      problems.push(`${safe(queryId)}: not a credential query of this request`);
      continue;
    }
    const list = Array.isArray(value) ? value : [value];
    total += list.length;
    if (list.length === 0) problems.push(`${queryId}: an empty list of presentations`);
    if (list.length > 1 && !credentialQuery.multiple)
      problems.push(`${queryId}: ${list.length} presentations where the query allows one (multiple is not set)`);
    if (!list.every((entry) => typeof entry === 'string' && entry.length > 0))
      problems.push(`${queryId}: presentations must be non-empty strings`);
  }
  if (total > limits.maxEntries) problems.push(`vp_token holds ${total} presentations; at most ${limits.maxEntries}`);
  return problems;
}

/** Whether the query's presence rules are met by the ids present: credential_sets, or every query. */
export function presenceProblems(query: DcqlQuery.Output, presentIds: Iterable<string>): string[] {
  const present = new Set(presentIds);
  if (!query.credential_sets) {
    return query.credentials
      .filter((credential) => !present.has(credential.id))
      .map((credential) => `${credential.id}: no presentation`);
  }
  const problems: string[] = [];
  for (const [index, set] of query.credential_sets.entries()) {
    if (set.required === false) continue;
    if (!set.options.some((option) => option.every((id) => present.has(id))))
      problems.push(`credential_sets.${index}: none of its options is fully presented`);
  }
  return problems;
}

/**
 * What a claims path pointer selects below a claim (DCQL, OpenID4VP 1.0 §7): a string a member of an object, a
 * non-negative integer an element of an array, null every element of an array.
 */
function selectedBy(value: unknown, path: unknown[]): unknown[] {
  let selected = [value];
  for (const step of path) {
    const next: unknown[] = [];
    for (const current of selected) {
      if (step === null) {
        if (Array.isArray(current)) next.push(...current);
      } else if (typeof step === 'number') {
        if (Array.isArray(current) && Number.isInteger(step) && step >= 0 && step < current.length) next.push(current[step]);
      } else if (typeof step === 'string' && current !== null && typeof current === 'object' && !Array.isArray(current)) {
        if (Object.hasOwn(current, step)) next.push((current as Record<string, unknown>)[step]);
      }
    }
    selected = next;
  }
  return selected;
}

interface ClaimQuery {
  id?: string;
  path: unknown[];
  values?: unknown[];
}

/**
 * What is wrong with one claims query's claim in what was disclosed, if anything: a value the full path selects must
 * be one of its `values`; an index past the end selects nothing. `mustBePresent`: a claim that is not there is wrong
 * too (for claim_sets, where the query match alone does not say which option was met).
 */
function claimProblem(queryId: string, claim: ClaimQuery, claims: Record<string, unknown>, mustBePresent: boolean) {
  const { path, values } = claim;
  if (!Array.isArray(path)) return undefined;
  const below = path[0] === 'credentialSubject' ? 2 : 1;
  const name = path[below - 1];
  if (typeof name !== 'string') return undefined;
  // Without claim_sets, presence is checked by the query match.
  if (!Object.hasOwn(claims, name)) return mustBePresent ? `${queryId}: ${name} was not disclosed` : undefined;
  if (!values && !mustBePresent) return undefined;
  const rest = path.slice(below);
  const candidates = selectedBy(claims[name], rest);
  if (candidates.length === 0) {
    // §7.1: an index past the end selects nothing, and the claim is not there; the dcql library reads an index as
    // "any element", so it would not say so. (A member or null that selects nothing is left to its presence rules.)
    if (rest.some((step) => typeof step === 'number')) return `${queryId}: ${name} has no element at the requested position`;
    return mustBePresent && rest.length > 0 ? `${queryId}: ${name} has nothing at the requested path` : undefined;
  }
  if (values && !candidates.some((candidate) => values.some((allowed) => allowed === candidate)))
    return `${queryId}: ${name} does not have one of the requested values`;
  return undefined;
}

/**
 * Every constraint of a claims query that names `values`: a value the full path selects must be one of them. With
 * `claim_sets` the wallet discloses one option, "the first option that it can satisfy" (DCQL, OID4VP 1.0 §6.4.1): the
 * values bind the claims of an option met, not those of the others, which a credential without selective disclosure
 * shows anyway. Then it is enough that one option has every claim there, with its values.
 */
export function claimValueProblems(query: DcqlQuery.Output, queryId: string, claims: Record<string, unknown>): string[] {
  return claimSetOutcome(query, queryId, claims).problems;
}

/**
 * With `claim_sets`, which of the credential query's claims (by index, as the query lists them) belong to an option
 * the presentation met: only those reach the relying party (a claim of an option not met may hold a value the query
 * excluded). Undefined without claim_sets: every claim asked for.
 */
export function claimsOfMetOptions(
  query: DcqlQuery.Output,
  queryId: string,
  claims: Record<string, unknown>,
): boolean[] | undefined {
  return claimSetOutcome(query, queryId, claims).kept;
}

function claimSetOutcome(
  query: DcqlQuery.Output,
  queryId: string,
  claims: Record<string, unknown>,
): { problems: string[]; kept?: boolean[] } {
  const credentialQuery = query.credentials.find((credential) => credential.id === queryId);
  const claimQueries = (credentialQuery?.claims ?? []) as ClaimQuery[];
  const claimSets = (credentialQuery as { claim_sets?: string[][] } | undefined)?.claim_sets;
  if (!claimSets) {
    const problems = claimQueries.map((claim) => claimProblem(queryId, claim, claims, false));
    return { problems: problems.filter((p): p is string => p !== undefined) };
  }
  const byId = new Map(claimQueries.map((claim) => [claim.id, claimProblem(queryId, claim, claims, true)]));
  const met = claimSets.filter((option) => option.every((id) => byId.has(id) && byId.get(id) === undefined));
  const metIds = new Set(met.flat());
  const kept = claimQueries.map((claim) => claim.id !== undefined && metIds.has(claim.id));
  if (met.length > 0) return { problems: [], kept };
  const named = [...new Set(claimSets.flat().map((id) => byId.get(id)))].filter((p): p is string => p !== undefined);
  return { problems: named.length ? named : [`${queryId}: none of the claim_sets is disclosed`], kept };
}

/**
 * One presentation against its own credential query (§8.6: a presentation that does not meet "all criteria defined
 * in the query" is discarded, not the whole response): its claims' values, and the library's match of claims,
 * claim_sets, vct_values / type_values and holder binding. The query's presence rules (credential_sets, every query
 * answered) are for what is left: `dcqlMatchProblems`.
 */
export function presentationMatchProblems(
  query: DcqlQuery.Output,
  queryId: string,
  presentation: DcqlCredentialPresentation,
): string[] {
  const claims = 'claims' in presentation ? (presentation.claims as Record<string, unknown>) : {};
  const problems = claimValueProblems(query, queryId, claims);
  let matched = false;
  try {
    const result = DcqlPresentationResult.fromDcqlPresentation({ [queryId]: [presentation] } as never, { dcqlQuery: query });
    matched = result.credential_matches[queryId]?.success === true;
  } catch {
    matched = false;
  }
  if (!matched) problems.push(`${queryId}: the presentation does not match the credential query`);
  return problems;
}

/**
 * The verified presentations, described as the `dcql` library expects, evaluated against the query with
 * the library (claims, claim_sets, values, vct_values/type_values, holder binding, multiple,
 * credential_sets), plus our own independent presence and value checks. Returns the problems.
 */
export function dcqlMatchProblems(query: DcqlQuery.Output, presented: Record<string, DcqlCredentialPresentation[]>): string[] {
  const problems = presenceProblems(query, Object.keys(presented));
  for (const [queryId, list] of Object.entries(presented)) {
    for (const presentation of list) {
      const claims = 'claims' in presentation ? (presentation.claims as Record<string, unknown>) : {};
      problems.push(...claimValueProblems(query, queryId, claims));
    }
  }
  let result: DcqlPresentationResult;
  try {
    result = DcqlPresentationResult.fromDcqlPresentation(presented as never, { dcqlQuery: query });
  } catch {
    return [...problems, 'the presentations do not fit the query'];
  }
  if (!result.can_be_satisfied) {
    for (const [queryId, match] of Object.entries(result.credential_matches)) {
      const failed = !match.success || (match as { failed_credentials?: unknown[] }).failed_credentials?.length;
      if (failed) problems.push(`${queryId}: the presentation does not match the credential query`);
    }
    if (problems.length === 0) problems.push('the presentations do not satisfy the query');
  }
  return [...new Set(problems)];
}
