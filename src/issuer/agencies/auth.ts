import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken, parseApiKey, secretsEqual, sha256Hex, unauthorized } from '../../common/index.js';
import { AgencyRepository, type Agency } from './agency.repository.js';

export { OperatorGuard, OPERATOR_API_KEY } from '../../common/index.js';

const bearer = (request: FastifyRequest) => bearerToken(request.headers);

/** Agency back-offices: per-agency API keys; the request carries the agency afterwards. */
@Injectable()
export class AgencyGuard implements CanActivate {
  constructor(private readonly agencies: AgencyRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { agency?: Agency; actor?: string }>();
    const parsed = parseApiKey(bearer(request) ?? '');
    // From memory while the change feeds vouch (a revocation on any replica drops it), else one statement.
    const found = parsed ? await this.agencies.byActiveApiKey(parsed.prefix) : null;
    if (!parsed || !found || !secretsEqual(sha256Hex(parsed.secret), found.secretHash)) {
      throw unauthorized('A valid agency API key is required');
    }
    request.agency = found.agency;
    request.actor = `api-key:${parsed.prefix}`;
    return true;
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
