import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from './api-keys.js';
import { unauthorized } from './errors.js';
import { secretsEqual } from './secrets.js';

export const OPERATOR_API_KEY = Symbol('OPERATOR_API_KEY');

/** Service operators: one key from configuration, compared in constant time. */
@Injectable()
export class OperatorGuard implements CanActivate {
  constructor(@Inject(OPERATOR_API_KEY) private readonly operatorKey: string) {}

  canActivate(context: ExecutionContext): boolean {
    const token = bearerToken(context.switchToHttp().getRequest<FastifyRequest>().headers);
    if (!token || !secretsEqual(token, this.operatorKey)) throw unauthorized('A valid operator API key is required');
    return true;
  }
}
