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
    const key = parsed ? await this.agencies.activeApiKey(parsed.prefix) : null;
    if (!parsed || !key || !secretsEqual(sha256Hex(parsed.secret), key.secretHash)) {
      throw unauthorized('A valid agency API key is required');
    }
    request.agency = (await this.agencies.byId(key.agencyId)) ?? undefined;
    request.actor = `api-key:${parsed.prefix}`;
    if (!request.agency) throw unauthorized('A valid agency API key is required');
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
