import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import {
  PinoNestLogger,
  createRootLogger,
  drainHttp,
  fastifyServerOptions,
  installHttpPlatform,
  isDatabaseConnectivityError,
  serveOpenApiJson,
  untilReachable,
  worthLogging,
} from './common/index.js';
import { publicBaseUrl, type AppConfig } from './config/index.js';
import { Database, openDataSource, secureDataDir } from './persistence/index.js';
import { LocalKeyBackend, resolveMasterKey } from './keys/index.js';
import { ChainClient, EmbeddedChainNode } from './chain/index.js';
import { AgencyService, AuthorisationService, resolveOperatorKey, seedDemoAgency } from './issuer/index.js';
import { Catalogue } from './credentials/index.js';
import { allowHttpOutsideProduction } from './oauth/index.js';
import { AppModule } from './app.module.js';
import { entities } from './entities.js';
import { migrations } from '../migrations/index.js';

export interface RunningApp {
  app: NestFastifyApplication;
  /** Base URL the service listens on. */
  url: string;
  config: AppConfig;
  operatorApiKey: string;
  /** Present when the service started its own chain node. */
  embeddedChain: EmbeddedChainNode | undefined;
  close(): Promise<void>;
}

/** How long a stop waits for the requests under way (below the 10 s orchestrators give before SIGKILL). */
const SHUTDOWN_GRACE_MS = 8_000;

/**
 * Stops the service on SIGTERM or SIGINT through `close()` (which drains HTTP first), once however many signals
 * come: Ctrl-C reaches a cluster worker as SIGINT and then as its primary's SIGTERM, and systemd signals every
 * process of the unit. A second close skipped the drain and exited under requests; a second signal of the same
 * kind, with no listener left, killed the process undrained. startApp registers none itself (see main.ts).
 */
export function stopOnSignals(running: Pick<RunningApp, 'close'>, exit: (code: number) => void = process.exit): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void running.close().then(
      () => exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Builds and starts the whole service; used by main.ts and by the end-to-end tests. */
export async function startApp(config: AppConfig): Promise<RunningApp> {
  // Process-wide protocol-library setting, once, before anything builds an issuer or a verifier.
  allowHttpOutsideProduction(publicBaseUrl(config), config.env);
  const embeddedChain = config.chain.rpcUrl
    ? undefined
    : await EmbeddedChainNode.prepare({ chainId: config.chain.chainId, port: config.chain.embeddedPort });
  // The node starts (~0.7 s) while the database opens and Nest builds the modules: nothing talks to the chain
  // before the bootstrap hooks, which run once it answers. Its failure is handled where it is awaited.
  const chainStarted = embeddedChain?.launch();
  chainStarted?.catch(() => undefined);
  let built: NestFastifyApplication | undefined;
  // What Nest does not own, closed here when the start fails.
  let openedChain: ChainClient | undefined;
  let openedDataSource: { isInitialized: boolean; destroy(): Promise<void> } | undefined;
  try {
    const chain = new ChainClient(
      config.chain.rpcUrl ?? embeddedChain!.rpcUrl,
      config.chain.chainId,
      config.chain.networkName,
      config.chain.pollMs,
    );
    openedChain = chain;
    const dataDirWarning = secureDataDir(config.dataDir);
    const rootLogger = createRootLogger(config.logLevel);
    for (const warning of [...config.warnings, ...(dataDirWarning ? [dataDirWarning] : [])])
      rootLogger.warn({ event: 'config_warning' }, warning);
    // Restarted while the database is down: wait for it (and say so) rather than exit and stay down.
    const dataSource = await untilReachable(() => openDataSource(config.database, entities, migrations), {
      // PostgreSQL only: a SQLite file that cannot be opened is a local problem no wait will mend.
      isOutage: (error) => config.database.kind === 'postgres' && isDatabaseConnectivityError(error),
      onWait: (error, attempt) => {
        if (worthLogging(attempt))
          rootLogger.warn(
            { event: 'database_unreachable_at_start', attempt, code: (error as { code?: unknown }).code },
            'waiting for the database',
          );
      },
    });
    openedDataSource = dataSource;
    const operatorApiKey = resolveOperatorKey(config);
    const logger = new PinoNestLogger(rootLogger);
    const app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot({
        config,
        dataSource,
        keyBackend: new LocalKeyBackend(resolveMasterKey(config), { signingThread: config.keys.signingThread && 'when-busy' }),
        chain,
        chainOptions: {
          configured: config.chain.contracts,
          consortium: config.chain.consortium,
          embeddedNode: embeddedChain,
          embeddedRestartMs: config.chain.embeddedRestartMs,
          timeoutMs: 60_000,
          pollMs: config.chain.pollMs,
          outboxPollMs: config.outboxPollMs,
          priorityFeeWei: config.chain.priorityFeeWei,
          reconcileMs: config.replicas.reconcileIntervalMs,
        },
        operatorApiKey,
      }),
      new FastifyAdapter(fastifyServerOptions(config.platform, config.http.bodyLimitBytes, config.http.publicUrl) as never),
      { logger },
    );
    built = app;
    try {
      await chainStarted;
    } catch (error) {
      // Providers start their work in the bootstrap hooks, which have not run: the data source is all there is.
      chain.destroy();
      await dataSource.destroy().catch(() => undefined);
      throw error;
    }
    // No Nest shutdown hooks: main.ts stops on SIGTERM/SIGINT through close() below, which drains HTTP first (Nest's
    // own handler closed the modules, then every socket, under requests still running).
    await installHttpPlatform(app, {
      bodyLimitBytes: config.http.bodyLimitBytes,
      logger: rootLogger,
      operatorApiKey,
    });

    const openApi = new DocumentBuilder()
      .setTitle('Chancery')
      .setDescription('Issue and verify electronic licences and identity credentials anchored on a consortium chain')
      .setVersion('0.1.0')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description: 'An operator key, an agency key (chy_…), a relying-party key (rpk_…) or a read token: opaque, not JWTs',
      })
      .build();
    if (config.platform.docsEnabled) {
      let document: OpenAPIObject | undefined;
      const built = () => (document ??= SwaggerModule.createDocument(app, openApi));
      // The UI here; the JSON by our own route, serialised once (no YAML: it was never documented).
      SwaggerModule.setup('docs', app, built, { raw: false });
      serveOpenApiJson(app.getHttpAdapter().getInstance(), '/docs/openapi.json', built);
    }

    await app.listen({ port: config.http.port, host: config.http.host });
    const address = app.getHttpServer().address() as { port: number };
    const url = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${address.port}`;

    const agencies = app.get(AgencyService);
    // Failures are logged; the reconciler tries again every RECONCILE_INTERVAL_MS.
    await agencies.reconcile().catch(() => undefined);
    if (config.demoAgency) {
      const authorisations = app.get(AuthorisationService);
      const types = app.get(Catalogue).list();
      // One replica creates it; the others starting alongside find it.
      await app.get(Database).exclusively('chancery:demo-agency', () =>
        seedDemoAgency(config, agencies, async (agencyId) => {
          for (const type of types) await authorisations.set(agencyId, type.id, true);
        }),
      );
    }

    return {
      app,
      url,
      config,
      operatorApiKey,
      embeddedChain,
      async close() {
        await drainHttp(app.getHttpServer(), SHUTDOWN_GRACE_MS);
        await app.close();
        chain.destroy();
        await embeddedChain?.stop();
      },
    };
  } catch (error) {
    // A start that failed in the bootstrap hooks (a node that lost its state, say) closes what the module hooks
    // opened (change feeds, timers, the data source), or it would live on in this process.
    await built?.close().catch(() => undefined);
    // The chain client's provider and sockets; the data source when no app was built to close it.
    openedChain?.destroy();
    // Also when the app was built: its close may have failed before the database's own shutdown hook ran.
    if (openedDataSource?.isInitialized) await openedDataSource.destroy().catch(() => undefined);
    // A node still starting is stopped once it is up (or has failed), never left running behind us.
    await chainStarted?.catch(() => undefined);
    await embeddedChain?.stop();
    throw error;
  }
}
