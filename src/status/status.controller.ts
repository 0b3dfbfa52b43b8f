import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { z } from 'zod';
import { ifNoneMatchHits, parseOrThrow, ProblemError } from '../common/index.js';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { HISTORY_MAX_PAGE, HISTORY_PAGE, StatusService } from './status.service.js';
import type { StatusPurpose } from './status.entity.js';
import { dataIntegrityMediaType, wantsDataIntegrity } from './data-integrity-list.js';
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
      'with Accept: application/vc+ld+json or application/vc, or application/ld+json or application/json preferred to ' +
      'the JWT types) or Token Status List (token)',
  })
  async serve(
    @Param('listId') listId: string,
    @Param('purpose') purpose: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Query('time') time: unknown,
    @Res() reply: FastifyReply,
  ) {
    // draft-ietf-oauth-status-list (historical resolution): a server that does not support `time` SHOULD answer 501,
    // rather than the current list, which a verifier asking about a past moment would take for that moment's. A list
    // that does not exist is 404 first, whatever the query asks.
    if (time !== undefined) {
      await this.lists.current(listId, purpose as StatusPurpose, false);
      throw new ProblemError(
        501,
        'http_501',
        'Status lists at a past time are not served',
        'Fetch the current list without time=; its published versions and their anchors are at /status/{list}/{purpose}/history',
      );
    }
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
    if (ifNoneMatchHits(ifNoneMatch, etag)) return reply.status(304).send();
    const type = mediaType === 'application/vc' ? dataIntegrityMediaType(accept) : mediaType;
    return reply.status(200).header('content-type', type).send(body);
  }

  @Get(':listId/:purpose/history')
  @ApiOperation({
    summary:
      `Published versions of a list with their digests and on-chain anchors, oldest first: the newest ${HISTORY_PAGE} ` +
      `(limit, up to ${HISTORY_MAX_PAGE}), or those older than the version before=; Link rel="next" names the next page`,
  })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: HISTORY_MAX_PAGE } })
  @ApiQuery({ name: 'before', required: false, schema: { type: 'integer', minimum: 1 } })
  async history(
    @Param('listId') listId: string,
    @Param('purpose') purpose: string,
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const page = parseOrThrow(historyQuerySchema, query, 'query');
    const versions = await this.status.history(listId, purpose as StatusPurpose, page);
    const oldest = versions[0]?.version;
    const limit = page.limit ?? HISTORY_PAGE;
    if (oldest !== undefined && oldest > 1 && versions.length === limit) {
      const next = `/status/${encodeURIComponent(listId)}/${encodeURIComponent(purpose)}/history?before=${oldest}&limit=${limit}`;
      void reply.header('link', `<${next}>; rel="next"`);
    }
    return versions;
  }
}

/** A query parameter that must be a whole number (zod's own message for NaN reads "expected number, received number"). */
const wholeNumber = z.coerce
  .number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a whole number' : undefined) })
  .int();
/** List versions are 32-bit integers in the database; every version is before a larger `before=`. */
const LARGEST_VERSION = 2_147_483_647;
const historyQuerySchema = z.object({
  before: wholeNumber
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .transform((before) => (before > LARGEST_VERSION ? undefined : before))
    .optional(),
  limit: wholeNumber.min(1).max(HISTORY_MAX_PAGE).optional(),
});
