import type { Logger } from '@nestjs/common';

type OidcProviderModule = typeof import('oidc-provider');

const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime';
let loaded: Promise<{ library: OidcProviderModule; runtimeWarning: boolean }> | undefined;

/**
 * Loads oidc-provider. Every value import of the library goes through here (types are imported as types
 * only), because the library prints its runtime check with console.warn while its module is evaluated:
 * on Node 20 it says "Unsupported runtime. Use Node.js v22.x LTS". We keep the message, as one structured log
 * line of ours instead of a bare stderr line, and nothing else is filtered (ADR 13).
 */
export async function loadOidcProvider(logger: Pick<Logger, 'warn'>): Promise<OidcProviderModule> {
  loaded ??= (async () => {
    const warn = console.warn;
    let runtimeWarning = false;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith(RUNTIME_WARNING)) runtimeWarning = true;
      else warn.apply(console, args);
    };
    try {
      return { library: await import('oidc-provider'), runtimeWarning };
    } finally {
      console.warn = warn;
    }
  })();
  const { library, runtimeWarning } = await loaded;
  if (runtimeWarning) {
    logger.warn(
      { event: 'oidc_provider_runtime', node: process.version, supported: '22 LTS or later' },
      'oidc-provider does not support this Node.js release; wallet login is tested on it (docs/adr/0013-openid-provider.md)',
    );
  }
  return library;
}
