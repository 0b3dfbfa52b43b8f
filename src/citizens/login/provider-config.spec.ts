import { loadOidcProvider } from './oidc-library.js';
import { loginPolicy, renderError } from './provider-config.js';

describe('OpenID Provider configuration', () => {
  it('routes the library runtime warning to our logger as one structured line, on runtimes it does not support', async () => {
    const logged: unknown[][] = [];
    const printed: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args);
    try {
      const library = await loadOidcProvider({ warn: (...args: unknown[]) => void logged.push(args) });
      expect(typeof library.Provider).toBe('function');
    } finally {
      console.warn = warn;
    }
    const lts = process.release.lts ?? '';
    if (lts && lts.charCodeAt(0) >= 'Jod'.charCodeAt(0)) expect(logged).toEqual([]);
    else expect(logged).toEqual([[expect.objectContaining({ event: 'oidc_provider_runtime' }), expect.any(String)]]);
    expect(printed).toEqual([]);
  });

  it('asks for a wallet presentation at every authorization request, unless it is resumed with its login', async () => {
    const { interactionPolicy } = await loadOidcProvider({ warn: () => undefined });
    const login = loginPolicy(interactionPolicy).get('login')!;
    const first = login.checks[0] as unknown as { reason: string; error: string; check(ctx: unknown): boolean };
    expect(first.reason).toBe('wallet_presentation_required');
    expect(first.error).toBe('login_required');
    expect(first.check({ oidc: { result: undefined } })).toBe(true);
    expect(first.check({ oidc: { result: { login: { accountId: 'a' } } } })).toBe(false);
  });

  it('renders the error page with every value escaped and no script', async () => {
    const ctx = { type: '', body: '' } as unknown as Parameters<typeof renderError>[0];
    await renderError(ctx, { error: 'invalid_client', error_description: '<script>alert(1)</script>' });
    const html = ctx.body as string;
    expect(ctx.type).toBe('html');
    expect(html).toContain('data-testid="error">invalid_client<');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});
