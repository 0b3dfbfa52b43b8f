import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses, openApiSchema } from '../common/index.js';
import type { FastifyReply } from 'fastify';
import { DidResolverService, resolutionError } from './did-resolver.service.js';
import { didResolutionResultSchema } from './did.schemas.js';

const RESOLUTION_CONTENT_TYPE = 'application/ld+json;profile="https://w3id.org/did-resolution"';
const resolutionContent = { [RESOLUTION_CONTENT_TYPE]: { schema: openApiSchema(didResolutionResultSchema) } };

/** A client's mistake is a 4xx: methodNotSupported too (the Universal Resolver would say 501). */
const STATUS_BY_ERROR: Record<string, number> = {
  invalidDid: 400,
  methodNotSupported: 400,
  notFound: 404,
};

/** DID resolution in the shape of the Universal Resolver's HTTP binding. */
@ApiTags('did')
@Controller('1.0/identifiers')
export class DidController {
  constructor(private readonly resolver: DidResolverService) {}

  @Get(':did')
  @ApiOperation({ summary: 'Resolve a DID (did:ethr on the consortium chain) to its DID document' })
  @ApiParam({ name: 'did', example: 'did:ethr:govchain:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4' })
  @ApiQuery({ name: 'versionId', required: false, description: 'A block number: the document as it was then' })
  @ApiResponse({ status: 200, description: 'The DID document', content: resolutionContent })
  @ApiResponse({
    status: 400,
    description: 'invalidDid or methodNotSupported (in didResolutionMetadata.error)',
    content: resolutionContent,
  })
  @ApiResponse({ status: 404, description: 'notFound (in didResolutionMetadata.error)', content: resolutionContent })
  @ApiProblemResponses(414, 429, 503)
  async resolve(
    @Param('did') did: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    // Fastify has already decoded the path parameter once; `?versionId=` may come as the request's query.
    const keys = Object.keys(query ?? {});
    const versionId = query?.['versionId'];
    let result;
    if (keys.some((key) => key !== 'versionId') || (versionId !== undefined && typeof versionId !== 'string')) {
      result = resolutionError('invalidDid', 'the only supported DID query is versionId=<block number>');
    } else if (typeof versionId === 'string' && did.includes('?')) {
      result = resolutionError('invalidDid', 'give versionId once');
    } else {
      result = await this.resolver.resolve(typeof versionId === 'string' ? `${did}?versionId=${versionId}` : did);
    }
    const error = result.didResolutionMetadata.error;
    void reply
      .status(error ? (STATUS_BY_ERROR[error] ?? 404) : 200)
      .header('content-type', RESOLUTION_CONTENT_TYPE)
      .header('cache-control', 'no-cache');
    return { '@context': 'https://w3id.org/did-resolution/v1', ...result };
  }
}
