import { Controller, Get, Header, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiMediaResponse, ApiProblemResponses, pollIntervalMs } from '../../common/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { recordsChooserPage, recordsPage, recordsResultPage } from './records-page.js';
import { RecordsService, type RecordsOutcome } from './records.service.js';

/** The HttpOnly cookie holding this browser's sealed same-device request (id and read token). */
const COOKIE = 'chancery_records';
const COOKIE_PATH = '/citizens/records';

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * The citizens' "my records" pages (用证记录): type chooser, the QR code page that polls the records API,
 * and the same-device flow (the wallet returns the browser with a response_code; the request's read token
 * waits in a sealed HttpOnly cookie, never in a URL).
 */
@ApiTags('citizens')
@Controller('citizens/records')
export class RecordsPageController {
  constructor(
    private readonly records: RecordsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'My records page: a type chooser, or (with ?type=) the wallet request as QR code and same-device link',
  })
  @ApiMediaResponse(200, 'the page', 'text/html', { type: 'string' })
  @ApiProblemResponses(400)
  async page(@Query('type') type: unknown) {
    if (type === undefined || type === '') return recordsChooserPage(this.records.types());
    const started = await this.records.start({ type });
    const typeName = this.records.types().find((entry) => entry.id === type)?.name ?? String(type);
    return recordsPage({
      typeName,
      id: started.id,
      readToken: started.readToken,
      link: started.link,
      qrSvg: started.qrSvg,
      sameDeviceUrl: `${this.base()}/same-device?type=${encodeURIComponent(String(type))}`,
      statusUrl: `${this.base()}/requests/${started.id}`,
      pollMs: pollIntervalMs(
        [this.config.platform.rateLimitPerResourcePerMinute, this.config.platform.rateLimitPerMinute],
        this.config.platform.pagePollMs,
      ),
    });
  }

  @Get('same-device')
  @ApiOperation({ summary: 'Same-device flow: makes the request and redirects to its openid4vp:// link (the wallet app)' })
  @ApiResponse({ status: 303, description: 'to the openid4vp:// link; sets the HttpOnly cookie of this request' })
  @ApiProblemResponses(400)
  async sameDevice(@Query('type') type: unknown, @Res() reply: FastifyReply) {
    const started = await this.records.start({ type }, `${this.base()}/return`);
    const sealed = await this.records.sealBrowserRequest({ id: started.id, readToken: started.readToken });
    const maxAge = Math.max(1, Math.floor((new Date(started.expiresAt).getTime() - Date.now()) / 1000));
    void reply
      .header('set-cookie', this.cookie(encodeURIComponent(sealed), maxAge))
      .header('cache-control', 'no-store')
      .redirect(started.link, 303);
  }

  @Get('return')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "Same-device flow: the wallet's redirect back; the response_code releases this browser's records" })
  @ApiMediaResponse(200, 'the records, or why there are none', 'text/html', { type: 'string' })
  async walletReturn(
    @Query('request') requestId: unknown,
    @Query('response_code') responseCode: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ) {
    const mine = await this.records.openBrowserRequest(cookieValue(request, COOKIE));
    let outcome: RecordsOutcome;
    if (!mine || mine.id !== requestId) {
      outcome = { status: 'rejected', reason: 'this lookup was not started in this browser' };
    } else if (typeof responseCode !== 'string' || responseCode.length === 0 || responseCode.length > 200) {
      outcome = { status: 'rejected', reason: 'the wallet did not return a response code' };
    } else {
      outcome = await this.records.outcome(mine.id, mine.readToken, responseCode);
    }
    // Spent once the records are shown; a wrong code must not end the lookup of the browser holding the cookie.
    if (outcome.status === 'verified') void reply.header('set-cookie', this.cookie('', 0));
    void reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(recordsResultPage(outcome, this.base()));
  }

  private base() {
    return `${publicBaseUrl(this.config)}${COOKIE_PATH}`;
  }

  private cookie(value: string, maxAge: number) {
    const secure = publicBaseUrl(this.config).startsWith('https:') ? '; Secure' : '';
    // Lax: the wallet app's return is a top-level navigation from elsewhere, which must carry the cookie.
    return `${COOKIE}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
  }
}
