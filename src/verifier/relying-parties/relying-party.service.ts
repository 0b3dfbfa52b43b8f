import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  badRequest,
  issueApiKey,
  notFound,
  parseApiKey,
  parseOrThrow,
  secretsEqual,
  sha256Hex,
  unauthorized,
} from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { Catalogue, p256HexToJwk } from '../../credentials/index.js';
import { KeyService, SealedSecrets } from '../../keys/index.js';
import { clientIdFor, usesCertificate } from '../../oid4vp/index.js';
import { oid4vpEndpoints, type Oid4vpEndpoints } from '../endpoints.js';
import { resolvePublicAddresses, webhookUrlProblem, type WebhookPolicy } from '../webhook.js';
import type { RelyingPartyEntity } from './relying-party.entity.js';
import { RelyingPartyRepository } from './relying-party.repository.js';
import { AuditLog } from '../../audit/index.js';
import { Database } from '../../persistence/index.js';
import { registerRelyingPartySchema } from './relying-party.schemas.js';

/** Contexts the party's secrets are sealed under (bound to the party's id). */
export const webhookSecretContext = (partyId: string) => `webhook:${partyId}`;

/**
 * Relying parties (banks, police, departments): registration by the operator with the claims they may
 * ask for, their signing key and certificate, their webhook, and their API keys.
 */
@Injectable()
export class RelyingPartyService {
  private readonly endpoints: Oid4vpEndpoints;
  readonly webhookPolicy: WebhookPolicy;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly keys: KeyService,
    private readonly secrets: SealedSecrets,
    private readonly parties: RelyingPartyRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly audit: AuditLog,
    private readonly db: Database,
  ) {
    this.endpoints = oid4vpEndpoints(config);
    this.webhookPolicy = { production: config.env === 'production', allowLoopback: config.oid4vp.webhookAllowPrivate };
  }

  async register(body: unknown) {
    const input = parseOrThrow(registerRelyingPartySchema, body);
    this.checkAllowedClaims(input.allowedClaims);
    if (input.webhookUrl) await this.checkWebhookUrl(input.webhookUrl);
    const id = randomUUID();
    const key = await this.keys.createKey('ES256', 'service-account', `relying-party:${id}`);
    // x509_san_dns and x509_hash: the party's certificate names our public host, where its requests and responses live.
    const certificate = usesCertificate(input.clientIdPrefix)
      ? (
          await this.keys.selfSignedCertificate(key.id, {
            commonName: input.name,
            dnsNames: [this.endpoints.publicHost],
            validityDays: 365,
          })
        ).toString('base64')
      : null;
    const apiKey = issueApiKey('rpk');
    const webhook = input.webhookUrl ? await this.secrets.createHmacSecret(webhookSecretContext(id)) : undefined;
    const registered = {
      name: input.name,
      purpose: input.purpose,
      allowedClaims: input.allowedClaims,
      apiKeyPrefix: apiKey.prefix,
    };
    const party: RelyingPartyEntity = {
      id,
      name: input.name,
      purpose: input.purpose,
      allowedClaims: input.allowedClaims,
      clientIdPrefix: input.clientIdPrefix,
      signingKeyId: key.id,
      certificate,
      webhookUrl: input.webhookUrl ?? null,
      webhookSecretSealed: webhook?.sealed ?? null,
      apiKeyPrefix: apiKey.prefix,
      apiKeyHash: apiKey.secretHash,
      createdAt: new Date(),
    };
    // The answer (the only copies of the API key and webhook secret) is built first (ADR 30); the party, its
    // first API key and the audit entry then commit together.
    const answer = {
      relyingParty: {
        ...this.view(party),
        clientId: clientIdFor(party.clientIdPrefix, this.endpoints, p256HexToJwk(key.publicKeyHex), certificate),
        ...(certificate ? { certificate } : {}),
      },
      apiKey: apiKey.token,
      ...(webhook ? { webhookSecret: webhook.secret } : {}),
    };
    await this.db.transaction(async (tx) => {
      await this.parties.insert(party, tx);
      await this.audit.append(
        { kind: 'relying_party.registered', actor: 'operator', subject: `relying-party:${id}`, data: registered },
        tx,
      );
    });
    return answer;
  }

  /** Every registered party as the operator sees it: its client_id and when it was registered, no secret. */
  async list() {
    const parties = await this.parties.all();
    return Promise.all(
      parties.map(async (party) => ({
        ...this.view(party),
        clientId: await this.clientId(party),
        createdAt: party.createdAt.toISOString(),
      })),
    );
  }

  /** The full client_id of a party (its did:jwk comes from its signing key). */
  async clientId(party: RelyingPartyEntity): Promise<string> {
    const signing = await this.keys.getKey(party.signingKeyId);
    return clientIdFor(party.clientIdPrefix, this.endpoints, p256HexToJwk(signing.publicKeyHex), party.certificate);
  }

  byId(id: string): Promise<RelyingPartyEntity | null> {
    return this.parties.byId(id);
  }

  /** Only live (not revoked) keys authenticate; a revoked key is refused on its next request. */
  async authenticate(token: string | undefined): Promise<RelyingPartyEntity> {
    const parsed = token ? parseApiKey(token, 'rpk') : undefined;
    const key = parsed ? await this.parties.byLiveApiKey(parsed.prefix) : null;
    const party = key && secretsEqual(sha256Hex(parsed!.secret), key.secretHash) ? key.party : null;
    if (!party) throw unauthorized('A valid relying party API key is required');
    return party;
  }

  /** Another API key for a party (rotation); returned once. The key and its audit entry commit together. */
  async createApiKey(partyId: string): Promise<{ apiKey: string; prefix: string }> {
    if (!(await this.parties.byId(partyId))) throw notFound(`No relying party ${partyId}`);
    const apiKey = issueApiKey('rpk');
    await this.db.transaction(async (tx) => {
      await this.parties.insertApiKey(
        {
          prefix: apiKey.prefix,
          relyingPartyId: partyId,
          secretHash: apiKey.secretHash,
          createdAt: new Date(),
          revokedAt: null,
        },
        tx,
      );
      await this.audit.append(
        {
          kind: 'relying_party.api_key.created',
          actor: 'operator',
          subject: `relying-party:${partyId}`,
          data: { prefix: apiKey.prefix },
        },
        tx,
      );
    });
    return { apiKey: apiKey.token, prefix: apiKey.prefix };
  }

  /** The revocation and its audit entry commit together: a failed append leaves the key live. */
  async revokeApiKey(partyId: string, prefix: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.parties.revokeApiKey(partyId, prefix, new Date(), tx)))
        throw notFound(`No live API key ${prefix} for relying party ${partyId}`);
      await this.audit.append(
        {
          kind: 'relying_party.api_key.revoked',
          actor: 'operator',
          subject: `relying-party:${partyId}`,
          data: { prefix },
        },
        tx,
      );
    });
  }

  async apiKeys(partyId: string) {
    if (!(await this.parties.byId(partyId))) throw notFound(`No relying party ${partyId}`);
    return (await this.parties.apiKeys(partyId)).map(({ prefix, createdAt, revokedAt }) => ({ prefix, createdAt, revokedAt }));
  }

  /** Every claim a party registers for must exist in the catalogue; 400 listing each one that does not. */
  private checkAllowedClaims(allowedClaims: Record<string, string[]>): void {
    const unknown = Object.keys(allowedClaims).filter((typeId) => !this.catalogue.get(typeId));
    const badClaims = Object.entries(allowedClaims).flatMap(([typeId, claims]) =>
      claims
        .filter((claim) => this.catalogue.get(typeId) && !(claim in this.catalogue.get(typeId)!.claims.properties))
        .map((claim) => `${typeId}.${claim}`),
    );
    if (unknown.length || badClaims.length) {
      throw badRequest('allowedClaims names unknown types or claims', [
        ...unknown.map((typeId) => ({ path: `allowedClaims.${typeId}`, message: 'unknown credential type' })),
        ...badClaims.map((claim) => ({ path: `allowedClaims.${claim}`, message: 'unknown claim' })),
      ]);
    }
  }

  /** A webhook target must be allowed by policy and resolve to public addresses only (SSRF). */
  private async checkWebhookUrl(webhookUrl: string): Promise<void> {
    const problem = webhookUrlProblem(webhookUrl, this.webhookPolicy);
    if (problem) throw badRequest('webhookUrl is not allowed', [{ path: 'webhookUrl', message: problem }]);
    try {
      await resolvePublicAddresses(new URL(webhookUrl).hostname, this.webhookPolicy);
    } catch {
      // The resolver's own text (getaddrinfo …) stays in the server; the client gets a fixed reason.
      throw badRequest('webhookUrl is not allowed', [
        { path: 'webhookUrl', message: 'the host does not resolve to public addresses only' },
      ]);
    }
  }

  private view(party: RelyingPartyEntity) {
    return {
      id: party.id,
      name: party.name,
      purpose: party.purpose,
      allowedClaims: party.allowedClaims,
      clientIdPrefix: party.clientIdPrefix,
      webhookUrl: party.webhookUrl,
    };
  }
}
