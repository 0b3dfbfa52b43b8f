import { Injectable } from '@nestjs/common';

interface Cached {
  body: string;
  etag: string | undefined;
  freshUntil: number;
}

const MAX_BYTES = 2 * 1024 * 1024;
const TIMEOUT_MS = 5_000;

/** HTTP client for status lists: honours max-age, revalidates with If-None-Match, caps size and time. */
@Injectable()
export class StatusListFetcher {
  private readonly cache = new Map<string, Cached>();

  async fetch(url: string): Promise<string> {
    const cached = this.cache.get(url);
    if (cached && cached.freshUntil > Date.now()) return cached.body;
    const response = await fetch(url, {
      headers: {
        accept: 'application/statuslist+jwt, application/vc+jwt',
        ...(cached?.etag ? { 'if-none-match': cached.etag } : {}),
      },
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: 'error',
    });
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1] ?? 0);
    if (response.status === 304 && cached) {
      cached.freshUntil = Date.now() + maxAge * 1000;
      return cached.body;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    if (Number(response.headers.get('content-length') ?? 0) > MAX_BYTES) throw new Error('status list too large');
    const body = (await response.text()).trim();
    if (body.length > MAX_BYTES) throw new Error('status list too large');
    if (this.cache.size > 1_000) this.cache.clear();
    this.cache.set(url, { body, etag: response.headers.get('etag') ?? undefined, freshUntil: Date.now() + maxAge * 1000 });
    return body;
  }
}
