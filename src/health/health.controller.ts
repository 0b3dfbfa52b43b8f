import { Controller, Get, Header, Inject, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Database } from '../persistence/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import {
  ApiProblemResponses,
  bearerToken,
  clusterMetricsText,
  DatabaseOutage,
  notFound,
  secretsEqual,
  SingleFlight,
  unauthorized,
} from '../common/index.js';
import { ChainBootstrap, ChainClient, OutboxService } from '../chain/index.js';
import { AuditAnchoring } from '../audit/index.js';
import { healthResultSchema } from './health.schemas.js';

/** A reason /health may show anyone as it is. */
class OurWords extends Error {}

/**
 * Runs a dependency check whose failure /health reports to anonymous callers: a driver's or node's message
 * (user names, internal hosts and addresses, file paths) is replaced by `reason`.
 */
async function inOurWords<T>(reason: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    throw error instanceof OurWords ? error : new OurWords(reason);
  }
}

/**
 * A terminus check's answer: a failed check is 503 with the per-dependency details kept in the body and, like every
 * other 503 of ours, when to ask again (RFC 9110 §10.2.3).
 */
async function answered<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T | string | object> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    void reply.status(503).header('retry-after', '5');
    return error.getResponse();
  }
}

@ApiTags('operations')
@Controller()
export class HealthController {
  /**
   * Checks in flight, shared by the probes that arrive meanwhile: anyone may call /health, and each check
   * asks the database and the chain node, so a flood of probes must not become a flood of chain calls.
   */
  private readonly checks = new SingleFlight<Awaited<ReturnType<HealthCheckService['check']>>>();
  /** When the chain was last found as it should be (see chainProblem). */
  private chainCheckedAt = 0;
  private lastBlockNumber = 0;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly db: Database,
    private readonly chain: ChainClient,
    private readonly bootstrap: ChainBootstrap,
    private readonly outbox: OutboxService,
    private readonly outage: DatabaseOutage,
    private readonly anchoring: AuditAnchoring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness and dependencies: database and chain node' })
  @ApiOkResponse({ description: 'Every dependency is up', standardSchema: healthResultSchema })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down (see error)', standardSchema: healthResultSchema })
  check(@Res({ passthrough: true }) reply: FastifyReply) {
    return answered(reply, () => this.runChecks());
  }

  @Get('health/live')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Liveness: the process answers (no dependency is asked; restart the process only when this fails)' })
  @ApiOkResponse({
    description: 'The process answers',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
  })
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness for a load balancer: the database only. A chain node that is down delays chain writes (the
   * outbox keeps them) and reads fall back to what is kept, so taking every replica out of rotation for it would
   * turn a chain outage into a full one; /health and the outbox metrics say how the chain is.
   */
  @Get('health/ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: the database answers (the chain is reported by /health, and does not take a replica out)',
  })
  @ApiOkResponse({ description: 'Ready to take traffic', standardSchema: healthResultSchema })
  @ApiServiceUnavailableResponse({ description: 'The database is down', standardSchema: healthResultSchema })
  ready(@Res({ passthrough: true }) reply: FastifyReply) {
    return answered(reply, () => this.checks.run('ready', () => this.health.check([() => this.databaseCheck()])));
  }

  private databaseCheck() {
    return this.indicators
      .check('database')
      .attempt(() =>
        inOurWords('the database could not be reached', async () => {
          await this.db.ping();
          this.outage.reportUp();
          return { kind: this.db.kind };
        }),
      )
      .withTimeout(3_000);
  }

  private runChecks() {
    return this.checks.run('health', () => this.checkDependencies());
  }

  private checkDependencies() {
    return this.health.check([
      () => this.databaseCheck(),
      () =>
        this.indicators
          .check('chain')
          .attempt(() =>
            inOurWords('the chain node could not be reached', async () => {
              const blockNumber = await this.chain.blockNumber();
              // A chain that went backwards was replaced: look again now.
              if (blockNumber < this.lastBlockNumber) this.chainCheckedAt = 0;
              this.lastBlockNumber = blockNumber;
              const problem = await this.chainProblem();
              if (problem) throw new OurWords(problem);
              return { chainId: this.chain.chainId, blockNumber };
            }),
          )
          .withTimeout(3_000),
    ]);
  }

  /**
   * What is wrong with the chain the node serves, if anything: another chain than CHAIN_ID (a node swapped
   * under us), or the DID registry without code (a node restarted without its state answers as before, but
   * every write and read of ours would fail or find nothing). Asked at most every 30 s while all is well.
   */
  private async chainProblem(): Promise<string | undefined> {
    if (Date.now() - this.chainCheckedAt < 30_000) return undefined;
    const wrongChain = await this.chain.chainIdProblem();
    if (wrongChain) return wrongChain;
    if (!(await this.chain.hasCode(this.bootstrap.registryAddress)))
      return 'our contracts are missing on this chain: its node lost its state (restore it; see the README)';
    this.chainCheckedAt = Date.now();
    return undefined;
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  @ApiOperation({ summary: 'Prometheus metrics; needs METRICS_TOKEN as a bearer token when it is set' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    content: { 'text/plain': { schema: { type: 'string', example: 'chancery_outbox_entries{status="pending"} 0\n' } } },
  })
  @ApiProblemResponses(401, 404, 503)
  async metrics(@Req() request: FastifyRequest): Promise<string> {
    const token = this.config.platform.metricsToken;
    if (token) {
      const given = bearerToken(request.headers);
      if (!given || !secretsEqual(given, token)) throw unauthorized('The metrics token is required');
    } else if (this.config.env === 'production') {
      // Closed unless METRICS_TOKEN is set: outbox counts and memory are not for everyone.
      throw notFound('Not found');
    }
    const counts = await this.outbox.counts();
    const oldestOpen = await this.outbox.oldestOpenAgeSeconds();
    const refusal = this.anchoring.lastRefusal();
    const lines = [
      '# HELP chancery_outbox_entries Chain writes in the outbox by status.',
      '# TYPE chancery_outbox_entries gauge',
      ...Object.entries(counts).map(([status, count]) => `chancery_outbox_entries{status="${status}"} ${count}`),
      '# HELP chancery_outbox_oldest_open_seconds Seconds the oldest chain write not yet mined has waited (0: none waits); grows while the chain is down or stalled.',
      '# TYPE chancery_outbox_oldest_open_seconds gauge',
      `chancery_outbox_oldest_open_seconds ${oldestOpen}`,
      '# HELP chancery_audit_anchor_refused 1 while audit anchoring is refused: the AuditAnchor contract expects another range than the database (see the log).',
      '# TYPE chancery_audit_anchor_refused gauge',
      `chancery_audit_anchor_refused ${refusal ? 1 : 0}`,
    ];
    // The database's figures are the same whichever replica answers; the process's are summed over a cluster's workers.
    return lines.join('\n') + '\n' + (await clusterMetricsText());
  }
}
