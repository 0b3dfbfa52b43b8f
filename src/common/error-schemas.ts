import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { OAUTH_ERROR_CODES, PROBLEM_CODES } from './errors.js';

/** OpenAPI schema of the RFC 6749 §5.2 error body the filter sends on `@OAuthErrors()` routes. */
export const OAUTH_ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', enum: [...OAUTH_ERROR_CODES] },
    error_description: { type: 'string', maxLength: 200, description: 'One line, RFC 6749 character set' },
  },
};

/** OpenAPI schema of an RFC 9457 problem details body (`application/problem+json`). */
export const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', example: 'urn:chancery:problem:invalid_request' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', enum: [...PROBLEM_CODES], description: 'or http_<status> for an unnamed framework status' },
    violations: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/** Declares problem-details error responses of a route (or a controller) in the OpenAPI document. */
export const ProblemResponses = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: 'Problem details (RFC 9457)',
        content: { 'application/problem+json': { schema: PROBLEM_SCHEMA as never } },
      }),
    ),
  );
