import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DidResolverService } from './did-resolver.service.js';

const RESOLUTION_CONTENT_TYPE = 'application/ld+json;profile="https://w3id.org/did-resolution"';

const STATUS_BY_ERROR: Record<string, number> = {
  invalidDid: 400,
  notFound: 404,
  unsupportedDidMethod: 501,
  methodNotSupported: 501,
};

/** DID resolution in the shape of the Universal Resolver's HTTP binding. */
@ApiTags('did')
@Controller('1.0/identifiers')
export class DidController {
  constructor(private readonly resolver: DidResolverService) {}

  @Get(':did')
  @ApiOperation({ summary: 'Resolve a DID (did:ethr on the consortium chain) to its DID document' })
  @ApiParam({ name: 'did', example: 'did:ethr:govchain:0x5B38Da6a701c568545dCfcB03FcB875f56beddC4' })
  async resolve(@Param('did') did: string, @Res({ passthrough: true }) reply: FastifyReply) {
    // Fastify has already decoded the path parameter once.
    const result = await this.resolver.resolve(did);
    const error = result.didResolutionMetadata.error;
    void reply
      .status(error ? (STATUS_BY_ERROR[error] ?? 500) : 200)
      .header('content-type', RESOLUTION_CONTENT_TYPE)
      .header('cache-control', 'no-cache');
    return { '@context': 'https://w3id.org/did-resolution/v1', ...result };
  }
}
