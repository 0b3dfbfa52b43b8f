import type { LicenceType } from './catalogue.js';

/** A claim's `title` in the catalogue is "English / 中文"; either half may be missing. */
function claimLabels(title: unknown): { locale: string; label: string }[] {
  if (typeof title !== 'string' || !title.trim()) return [];
  const [en, zh] = title.split(' / ');
  return [
    ...(en?.trim() ? [{ locale: 'en', label: en.trim() }] : []),
    ...(zh?.trim() ? [{ locale: 'zh-CN', label: zh.trim() }] : []),
  ];
}

/**
 * SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc, Type Metadata) for a catalogue type, served at its vct URL:
 * display entries by `locale` (the name drafts up to -11 called `lang` is kept beside it), and per-claim metadata
 * (path, display labels, `sd`: always for the claims we issue as disclosures, never for the others). No `schema`:
 * the current draft removed it, and earlier ones made wallets validate the whole payload against it, which a
 * claims schema (without iss, vct, cnf, status; disclosable claims required) would fail.
 */
export function sdJwtVcTypeMetadata(type: LicenceType) {
  return {
    vct: type.vct,
    name: type.display.en.name,
    ...(type.display.en.description ? { description: type.display.en.description } : {}),
    display: Object.entries(type.display).map(([locale, display]) => ({ locale, lang: locale, ...display })),
    claims: Object.entries(type.claims.properties).map(([name, schema]) => {
      const display = claimLabels((schema as { title?: unknown }).title);
      return {
        path: [name],
        ...(display.length ? { display } : {}),
        sd: type.selectivelyDisclosable.includes(name) ? 'always' : 'never',
      };
    }),
  };
}
