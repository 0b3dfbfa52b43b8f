// oidc-provider 9 ships no type declarations (and @types/oidc-provider is not a dependency): this is the part of
// its API that src/citizens/login uses, written from the library's source (lib/provider.js, lib/helpers/*).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { KeyObject } from 'node:crypto';

  export class ExternalSigningKey {
    kid: string;
    alg: string;
    keyObject(): KeyObject;
    sign(data: Uint8Array): Promise<Uint8Array>;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
      status: number;
      statusCode: number;
      /** Whether the error's own code and description are answered (else server_error); status < 500 by default. */
      expose: boolean;
      constructor(status: number, message: string, options?: string | { detail?: string; cause?: unknown });
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequestUri extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidClientMetadata extends OIDCProviderError {
      constructor(description?: string);
    }
    class SessionNotFound extends OIDCProviderError {}
  }

  export interface CheckInstance {
    reason: string;
  }
  export interface PromptInstance {
    name: string;
    checks: CheckInstance[] & { add(check: CheckInstance, index?: number): void };
  }
  export interface Policy extends Array<PromptInstance> {
    get(name: string): PromptInstance | undefined;
    add(prompt: PromptInstance, index?: number): void;
  }

  export namespace interactionPolicy {
    function base(): Policy;
    class Prompt implements PromptInstance {
      name: string;
      checks: CheckInstance[] & { add(check: CheckInstance, index?: number): void };
      constructor(options: { name: string; requestable?: boolean }, ...checks: CheckInstance[]);
    }
    class Check implements CheckInstance {
      static readonly REQUEST_PROMPT: true;
      static readonly NO_NEED_TO_PROMPT: false;
      reason: string;
      constructor(
        reason: string,
        description: string,
        error: string,
        check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>,
      );
    }
  }

  /** The Koa context oidc-provider passes to configuration functions (only what we read). */
  export interface KoaContextWithOIDC {
    oidc: {
      result?: { login?: unknown };
      /** The request's parameters (authorization and pushed authorization requests). */
      params?: Record<string, unknown>;
      client?: ProviderClient;
      entities: Record<string, unknown>;
    };
    status: number;
    body: unknown;
    type: string;
    path: string;
    method: string;
    ip: string;
    set(name: string, value: string): void;
  }

  export interface ProviderClient {
    clientId: string;
    clientName?: string;
    sectorIdentifier?: string;
    clientSecret?: string;
    [metadata: string]: unknown;
  }

  export interface Interaction {
    uid: string;
    jti: string;
    exp: number;
    returnTo: string;
    params: Record<string, unknown> & { client_id: string; scope?: string };
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    session?: { uid: string; accountId?: string };
    result?: Record<string, unknown>;
    grantId?: string;
  }

  export interface GrantInstance {
    jti: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
  }

  export interface ClientConstructor {
    find(id: string): Promise<ProviderClient | undefined>;
    validate(metadata: Record<string, unknown>): Promise<void>;
    prototype: { compareClientSecret(this: ProviderClient, actual: string): Promise<boolean> | boolean };
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    readonly Client: ClientConstructor;
    readonly Grant: GrantConstructor;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }

  export default Provider;
}
