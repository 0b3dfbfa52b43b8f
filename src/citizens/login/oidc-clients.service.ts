import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { badRequest, notFound, parseOrThrow, randomToken, sha256Hex } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import {
  jwksProblems,
  providerClientMetadata,
  redirectUriProblems,
  registerOidcClientSchema,
  scopeProblems,
} from './client-registration.js';
import type { OidcClientEntity } from './login.entity.js';
import { OidcClientRepository } from './provider-records.repository.js';
import { OpenIdProvider } from './openid-provider.js';
import { LOGIN_SCOPES } from './scopes.js';
import { AuditLog } from '../../audit/index.js';
import { Database } from '../../persistence/index.js';

/** The portals allowed to log citizens in: registered by the operator, each with its secret shown once. */
@Injectable()
export class OidcClientsService {
  constructor(
    private readonly clients: OidcClientRepository,
    private readonly op: OpenIdProvider,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditLog,
    private readonly db: Database,
  ) {}

  async register(body: unknown) {
    const input = parseOrThrow(registerOidcClientSchema, body);
    const problems = [
      ...redirectUriProblems(input.redirectUris, this.config.env === 'production'),
      ...scopeProblems(input.scopes, LOGIN_SCOPES),
      ...jwksProblems(input.tokenEndpointAuthMethod, input.jwks),
    ];
    if (problems.length) throw badRequest('The client registration is invalid', problems);
    const secret = input.tokenEndpointAuthMethod === 'private_key_jwt' ? undefined : randomToken(32);
    const client: OidcClientEntity = {
      id: randomUUID(),
      name: input.name,
      redirectUris: input.redirectUris,
      scopes: [...new Set(input.scopes.filter((scope) => scope !== 'openid'))],
      tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
      idTokenSignedResponseAlg: input.idTokenSignedResponseAlg,
      secretHash: secret ? sha256Hex(secret) : null,
      jwks: input.jwks ?? null,
      dataSharingPermission: input.dataSharingPermission ?? null,
      createdAt: new Date(),
    };
    // The provider's own metadata rules, before anything is stored.
    try {
      await this.op.provider.Client.validate(providerClientMetadata(client, client.secretHash));
    } catch (error) {
      const description = (error as { error_description?: unknown }).error_description;
      throw badRequest('The client registration is invalid', [
        { path: '(client metadata)', message: typeof description === 'string' ? description.slice(0, 200) : 'refused' },
      ]);
    }
    const registered = {
      name: client.name,
      redirectUris: client.redirectUris,
      scopes: client.scopes,
      authMethod: client.tokenEndpointAuthMethod,
      idTokenSignedResponseAlg: client.idTokenSignedResponseAlg,
    };
    await this.db.transaction(async (tx) => {
      await this.clients.insert(client, tx);
      await this.audit.append(
        { kind: 'oidc.client.created', actor: 'operator', subject: `oidc-client:${client.id}`, data: registered },
        tx,
      );
    });
    return { client: this.view(client), ...(secret ? { clientSecret: secret } : {}) };
  }

  async list() {
    return (await this.clients.list()).map((client) => this.view(client));
  }

  async get(id: string) {
    const client = await this.clients.byId(id);
    if (!client) throw notFound(`No OIDC client ${id}`);
    return this.view(client);
  }

  /**
   * The portal can no longer log anyone in; its codes and tokens stop working (the client is not found).
   * The deletion and its audit entry commit together.
   */
  async delete(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.clients.delete(id, tx))) throw notFound(`No OIDC client ${id}`);
      await this.audit.append({ kind: 'oidc.client.deleted', actor: 'operator', subject: `oidc-client:${id}` }, tx);
    });
  }

  private view(client: OidcClientEntity) {
    return {
      clientId: client.id,
      name: client.name,
      redirectUris: client.redirectUris,
      scopes: ['openid', ...client.scopes],
      tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
      idTokenSignedResponseAlg: client.idTokenSignedResponseAlg,
      ...(client.jwks ? { jwks: client.jwks } : {}),
      dataSharingPermission: client.dataSharingPermission,
      issuer: this.op.issuer,
      createdAt: client.createdAt,
    };
  }
}
