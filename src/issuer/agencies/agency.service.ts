import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID, type JsonWebKey } from 'node:crypto';
import { z } from 'zod';
import { StatusService } from '../../status/index.js';
import { APP_CONFIG, publicBaseUrl, type AppConfig } from '../../config/index.js';
import { conflict, issueApiKey, notFound, parseOrThrow } from '../../common/index.js';
import { Database, isUniqueViolation } from '../../persistence/index.js';
import { ecPublicJwk, KeyService } from '../../keys/index.js';
import { ChainBootstrap, OutboxService, OutboxWorker, Reconciler, type OutboxEntry } from '../../chain/index.js';
import { agencyDidWrites, DidResolverService, ethrDid } from '../../did/index.js';
import { AuditLog } from '../../audit/index.js';
import { didKeyOf } from '../../credentials/index.js';
import { AgencyRepository, type Agency } from './agency.repository.js';
import type { AgencyView } from './agency.schemas.js';

export const createAgencySchema = z.object({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, 2 to 63 characters'),
  name: z.string().trim().min(1).max(200),
});
export type CreateAgencyInput = z.infer<typeof createAgencySchema>;

@Injectable()
export class AgencyService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AgencyService');

  constructor(
    private readonly db: Database,
    private readonly agencies: AgencyRepository,
    private readonly keys: KeyService,
    private readonly outbox: OutboxService,
    private readonly worker: OutboxWorker,
    private readonly chain: ChainBootstrap,
    private readonly resolver: DidResolverService,
    private readonly status: StatusService,
    private readonly reconciler: Reconciler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditLog,
  ) {}

  onApplicationBootstrap(): void {
    this.worker.onMined((entry) => this.onChainWriteMined(entry));
    // Activation also runs periodically: a listener that failed (a race with another replica, a crash)
    // must not leave an agency anchoring until the next restart.
    this.reconciler.register({ name: 'agency-activation', run: () => this.reconcile() });
  }

  /**
   * Creates the agency, its keys, its first API key and the chain writes that anchor its DID document,
   * all in one database transaction; the outbox worker sends the writes after the commit.
   */
  async create(input: unknown): Promise<{ agency: AgencyView; apiKey: string }> {
    const { slug, name } = parseOrThrow(createAgencySchema, input);
    const id = randomUUID();
    const registry = this.chain.registryAddress;
    const apiKey = issueApiKey();
    const serviceEndpoint = publicBaseUrl(this.config);
    const exists = () => conflict(`An agency with slug "${slug}" already exists`);
    const created = await this.db
      .transaction(async (tx) => {
        if (await this.agencies.bySlug(slug, tx)) throw exists();
        const controller = await this.keys.createKey('ES256K', 'did-controller', id, tx);
        const signing = await this.keys.createKey('ES256', 'credential-signing', id, tx);
        const did = ethrDid(this.config.chain.networkName, controller.address!);
        const agency: Agency = {
          id,
          slug,
          name,
          did,
          controllerKeyId: controller.id,
          signingKeyId: signing.id,
          signingKid: null,
          serviceEndpoint,
          status: 'anchoring',
          createdAt: new Date(),
        };
        await this.agencies.insert(tx, agency);
        await this.agencies.insertApiKey(tx, {
          id: randomUUID(),
          agencyId: id,
          prefix: apiKey.prefix,
          secretHash: apiKey.secretHash,
          label: 'initial',
          createdAt: new Date(),
          revokedAt: null,
        });
        const writes = agencyDidWrites({
          identity: controller.address!,
          controllerKeyId: controller.id,
          signingPublicKeyHex: signing.publicKeyHex,
          serviceEndpoint,
          validitySeconds: this.config.didKeyValidityDays * 86_400,
          registry,
          ref: agencyRef(id),
        });
        await this.outbox.enqueue(tx, writes);
        const keys = { did, controllerKeyId: controller.id, signingKeyId: signing.id, apiKeyPrefix: apiKey.prefix };
        await this.audit.append(
          { kind: 'agency.created', actor: 'operator', subject: `agency:${id}`, data: { slug, ...keys } },
          tx,
        );
        // The answer is made before the commit: after it, a failed read would lose the only copy of the API key
        // (a retry gets 409 for the slug), so nothing that can fail follows the commit (ADR 30).
        const queued = writes.map((write) => ({
          purpose: write.purpose,
          status: 'pending' as const,
          txHash: null,
          blockNumber: null,
        }));
        return agencyView(agency, ecPublicJwk(signing), queued);
      })
      .catch((error: unknown) => {
        // Two requests for one slug: the unique index decides; the loser gets the same 409 as a late one.
        throw isUniqueViolation(error) ? exists() : error;
      });
    this.logger.log({ agencyId: id, slug }, 'agency created; DID anchoring queued');
    return { agency: created, apiKey: apiKey.token };
  }

  /** Another API key for the agency, returned once; the key and its audit entry commit together. */
  async createApiKey(idOrSlug: string, label: string): Promise<string> {
    const agency = await this.get(idOrSlug);
    const apiKey = issueApiKey();
    await this.db.transaction(async (tx) => {
      await this.agencies.insertApiKey(tx, {
        id: randomUUID(),
        agencyId: agency.id,
        prefix: apiKey.prefix,
        secretHash: apiKey.secretHash,
        label,
        createdAt: new Date(),
        revokedAt: null,
      });
      await this.audit.append(
        {
          kind: 'agency.api_key.created',
          actor: 'operator',
          subject: `agency:${agency.id}`,
          data: { prefix: apiKey.prefix, label },
        },
        tx,
      );
    });
    return apiKey.token;
  }

  /** The agency's keys as an operator sees them: which to revoke; never a secret or its digest. */
  async apiKeys(idOrSlug: string) {
    const agency = await this.get(idOrSlug);
    return (await this.agencies.apiKeys(agency.id)).map(({ prefix, label, createdAt, revokedAt }) => ({
      prefix,
      label,
      createdAt: createdAt.toISOString(),
      revokedAt: revokedAt?.toISOString() ?? null,
    }));
  }

  /**
   * Revokes an agency API key by its public prefix; requests with it get 401 from then on. The revocation
   * and its audit entry commit together: a failed append leaves the key active, and a retry revokes it.
   */
  async revokeApiKey(idOrSlug: string, prefix: string): Promise<void> {
    const agency = await this.get(idOrSlug);
    await this.db.transaction(async (tx) => {
      if (!(await this.agencies.revokeApiKey(agency.id, prefix, new Date(), tx))) {
        throw notFound(`No active API key "${prefix}" for this agency`);
      }
      await this.audit.append(
        { kind: 'agency.api_key.revoked', actor: 'operator', subject: `agency:${agency.id}`, data: { prefix } },
        tx,
      );
    });
    this.logger.log({ agencyId: agency.id, prefix }, 'agency API key revoked');
  }

  async get(id: string): Promise<Agency> {
    const agency = (await this.agencies.byId(id)) ?? (await this.agencies.bySlug(id));
    if (!agency) throw notFound(`No agency "${id}"`);
    return agency;
  }

  async view(idOrSlug: string): Promise<AgencyView> {
    const agency = await this.get(idOrSlug);
    const writes = await this.outbox.byRef(agencyRef(agency.id));
    return agencyView(agency, ecPublicJwk(await this.keys.getKey(agency.signingKeyId)), writes);
  }

  async list(): Promise<AgencyView[]> {
    return Promise.all((await this.agencies.list()).map((agency) => this.view(agency.id)));
  }

  /**
   * Activates an agency once all its anchoring writes are mined: the signing key's verification
   * method id (kid) is read back from the resolved DID document, so we only ever sign with a kid
   * that verifiers will find on chain.
   */
  async refresh(agencyId: string): Promise<Agency> {
    const agency = await this.get(agencyId);
    if (agency.status === 'active') return agency;
    const writes = await this.outbox.byRef(agencyRef(agency.id));
    if (writes.length === 0 || writes.some((write) => write.status !== 'mined')) return agency;
    this.resolver.evict(agency.did.split(':').pop()!);
    const { didDocument } = await this.resolver.resolve(agency.did);
    const signing = await this.keys.getKey(agency.signingKeyId);
    const method = didDocument?.verificationMethod?.find(
      (vm) => vm.publicKeyHex?.toLowerCase() === signing.publicKeyHex.toLowerCase(),
    );
    if (!method) {
      this.logger.warn({ agencyId: agency.id }, 'anchoring mined but the signing key is not in the DID document yet');
      return agency;
    }
    // Lists first: once the agency shows as active, its first status lists are already queued for anchoring.
    const issuer = {
      agencyId: agency.id,
      did: agency.did,
      signingKeyId: agency.signingKeyId,
      signingKid: method.id,
      controllerKeyId: agency.controllerKeyId,
    };
    try {
      await this.status.ensureLists(issuer);
    } catch (error) {
      // Another replica may have created or published the same lists a moment ago (a unique violation):
      // once more, now that they exist; if that fails too the reconciler tries again later.
      this.logger.warn({ err: error, agencyId: agency.id }, 'preparing status lists failed; retrying once');
      await this.status.ensureLists(issuer);
    }
    await this.agencies.activate(agency.id, method.id);
    this.logger.log({ agencyId: agency.id, kid: method.id }, 'agency active');
    return (await this.agencies.byId(agency.id))!;
  }

  /**
   * Activates agencies whose anchoring finished while we were not running, or whose activation failed
   * (reconcile step; also run at start). One agency's failure does not hold up the others.
   */
  async reconcile(): Promise<void> {
    const failures: unknown[] = [];
    for (const agency of await this.agencies.withStatus('anchoring')) {
      await this.refresh(agency.id).catch((error: unknown) => {
        failures.push(error);
        this.logger.warn({ err: error, agencyId: agency.id }, 'agency activation failed; will retry');
      });
    }
    if (failures.length > 0) throw new Error(`${failures.length} agency activation(s) failed; retried next round`);
  }

  private async onChainWriteMined(entry: OutboxEntry): Promise<void> {
    if (entry.ref?.startsWith('agency:')) await this.refresh(entry.ref.slice('agency:'.length));
  }
}

export const agencyRef = (agencyId: string): string => `agency:${agencyId}`;

/** What the operator API shows of an agency. */
function agencyView(agency: Agency, signingKey: ReturnType<typeof ecPublicJwk>, writes: AgencyView['chainWrites']): AgencyView {
  return {
    id: agency.id,
    slug: agency.slug,
    name: agency.name,
    did: agency.did,
    status: agency.status,
    signingKid: agency.signingKid,
    signingKey,
    didKey: didKeyOf(signingKey as JsonWebKey).did,
    serviceEndpoint: agency.serviceEndpoint,
    createdAt: agency.createdAt.toISOString(),
    chainWrites: writes.map((w) => ({ purpose: w.purpose, status: w.status, txHash: w.txHash, blockNumber: w.blockNumber })),
  };
}
