import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { secretsEqual, sha256Hex, unauthorized } from '../../common/index.js';
import { AgencyRepository, type Agency } from './agency.repository.js';
import { parseApiKey } from './api-keys.js';

export const OPERATOR_API_KEY = Symbol('OPERATOR_API_KEY');

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

/** Service operators (creating agencies): one key from configuration, compared in constant time. */
@Injectable()
export class OperatorGuard implements CanActivate {
  constructor(@Inject(OPERATOR_API_KEY) private readonly operatorKey: string) {}

  canActivate(context: ExecutionContext): boolean {
    const token = bearer(context.switchToHttp().getRequest<FastifyRequest>());
    if (!token || !secretsEqual(token, this.operatorKey)) throw unauthorized('A valid operator API key is required');
    return true;
  }
}

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
