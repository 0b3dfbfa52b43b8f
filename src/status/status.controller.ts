import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { StatusService } from './status.service.js';
import type { StatusPurpose } from './status.entity.js';
import { wantsDataIntegrity } from './data-integrity-list.js';
import { ServedLists } from './served-lists.js';

@ApiTags('status lists')
@Controller('status')
export class StatusController {
  constructor(
    private readonly status: StatusService,
    private readonly lists: ServedLists,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get(':listId/:purpose')
  @ApiOperation({
    summary:
      'A signed status list: Bitstring Status List credential (revocation|suspension; vc+jwt, or Data Integrity JSON ' +
      'with Accept: application/vc+ld+json or application/vc) or Token Status List (token)',
  })
  async serve(
    @Param('listId') listId: string,
    @Param('purpose') purpose: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    // The tag is of the bytes served (one per representation), so caches follow exactly what goes out.
    const { body, etag, mediaType, lastModified } = await this.lists.current(
      listId,
      purpose as StatusPurpose,
      wantsDataIntegrity(accept),
    );
    void reply
      .header('vary', 'accept')
      .header('etag', etag)
      .header('cache-control', `public, max-age=${this.config.status.maxAgeSeconds}`)
      .header('last-modified', lastModified.toUTCString());
    // RFC 9110 §13.1.2: If-None-Match uses the weak comparison (a proxy may have made our tag weak), and * matches.
    const matches = ifNoneMatch?.split(',').some((tag) => {
      const trimmed = tag.trim();
      return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
    });
    if (matches) return reply.status(304).send();
    return reply.status(200).header('content-type', mediaType).send(body);
  }

  @Get(':listId/:purpose/history')
  @ApiOperation({ summary: 'Every published version of a list with its digest and on-chain anchor' })
  history(@Param('listId') listId: string, @Param('purpose') purpose: string) {
    return this.status.history(listId, purpose as StatusPurpose);
  }
}
