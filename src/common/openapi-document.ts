import type { FastifyInstance } from 'fastify';
import { entityTagOf, ifNoneMatchHits } from './conditional-get.js';

/**
 * Serves the OpenAPI document as JSON at `path`: built and serialised at the first request, then the same bytes
 * with their entity tag, so a client that has them gets a 304. @nestjs/swagger's own route serialises the
 * document again at every request (~16 ms of CPU for our ~220 KB; its YAML route ~60 ms), on a route no rate
 * limit covers: a few requests a second would have kept the event loop busy.
 */
export function serveOpenApiJson(fastify: FastifyInstance, path: string, document: () => object): void {
  let served: { body: Buffer; etag: string } | undefined;
  fastify.get(path, (request, reply) => {
    if (!served) {
      const body = Buffer.from(JSON.stringify(document()));
      served = { body, etag: entityTagOf(body) };
    }
    void reply.header('etag', served.etag).header('cache-control', 'no-cache');
    if (ifNoneMatchHits(request.headers['if-none-match'], served.etag)) return reply.status(304).send();
    return reply.type('application/json; charset=utf-8').send(served.body);
  });
}
