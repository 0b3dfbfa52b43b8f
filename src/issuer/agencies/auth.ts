import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken, notFound, parseApiKey, secretsEqual, sha256Hex, unauthorized } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { AgencyRepository, type Agency } from './agency.repository.js';

export { OperatorGuard, OPERATOR_API_KEY } from '../../common/index.js';

const bearer = (request: FastifyRequest) => bearerToken(request.headers);

type AgencyRequest = FastifyRequest & { agency?: Agency; actor?: string };

/** Checks an agency API key and puts its agency (and the key's prefix as actor) on the request. */
async function authenticateAgency(agencies: AgencyRepository, request: AgencyRequest, token: string): Promise<true> {
  const parsed = parseApiKey(token);
  // From memory while the change feeds vouch (a revocation on any replica drops it), else one statement.
  const found = parsed ? await agencies.byActiveApiKey(parsed.prefix) : null;
  if (!parsed || !found || !secretsEqual(sha256Hex(parsed.secret), found.secretHash)) {
    throw unauthorized('A valid agency API key is required');
  }
  request.agency = found.agency;
  request.actor = `api-key:${parsed.prefix}`;
  return true;
}

/** Agency back-offices: per-agency API keys; the request carries the agency afterwards. */
@Injectable()
export class AgencyGuard implements CanActivate {
  constructor(private readonly agencies: AgencyRepository) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AgencyRequest>();
    return authenticateAgency(this.agencies, request, bearer(request) ?? '');
  }
}

/**
 * The agency key as the `apiKey` path parameter, for test-suite clients that send no Authorization header (the W3C
 * Bitstring Status List suite posts bare JSON). Only while ISSUE_KEY_IN_PATH is on: a path ends up in proxies' logs
 * (ours log the route template), so a key used so is one made for the run and revoked after it.
 */
@Injectable()
export class AgencyKeyInPathGuard implements CanActivate {
  private readonly enabled: boolean;

  constructor(
    private readonly agencies: AgencyRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.enabled = config.platform.issueKeyInPath;
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AgencyRequest & { params: { apiKey?: string } }>();
    if (!this.enabled) throw notFound('Issuing with the key in the path is off (ISSUE_KEY_IN_PATH)');
    return authenticateAgency(this.agencies, request, request.params.apiKey ?? '');
  }
}

export const CurrentAgency = createParamDecorator(
  (_: unknown, context: ExecutionContext): Agency =>
    context.switchToHttp().getRequest<FastifyRequest & { agency: Agency }>().agency,
);

/** Who made the request, for audit trails: the API key's public prefix, never the key. */
export const CurrentActor = createParamDecorator(
  (_: unknown, context: ExecutionContext): string =>
    context.switchToHttp().getRequest<FastifyRequest & { actor: string }>().actor,
);
