import { Injectable, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../../common/index.js';
import type { RelyingPartyEntity } from './relying-party.entity.js';
import { RelyingPartyService } from './relying-party.service.js';

type WithParty = FastifyRequest & { relyingParty?: RelyingPartyEntity };

/** Relying-party back-offices authenticate with their rpk_ API key. */
@Injectable()
export class RelyingPartyGuard implements CanActivate {
  constructor(private readonly parties: RelyingPartyService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<WithParty>();
    request.relyingParty = await this.parties.authenticate(bearerToken(request.headers));
    return true;
  }
}

/** The party RelyingPartyGuard authenticated. */
export const CurrentRelyingParty = createParamDecorator(
  (_: unknown, context: ExecutionContext): RelyingPartyEntity => context.switchToHttp().getRequest<WithParty>().relyingParty!,
);
