import { dataIntegrityMediaType, wantsDataIntegrity } from './data-integrity-list.js';

describe('status list content negotiation', () => {
  it('serves the Data Integrity form only when Accept asks for application/vc+ld+json or application/vc', () => {
    expect(wantsDataIntegrity('application/vc+ld+json')).toBe(true);
    expect(wantsDataIntegrity('application/vc')).toBe(true);
    expect(wantsDataIntegrity('application/vc+jwt, application/vc+ld+json;q=0.5')).toBe(true);
    expect(wantsDataIntegrity('Application/VC+LD+JSON')).toBe(true);
    expect(wantsDataIntegrity(undefined)).toBe(false);
    expect(wantsDataIntegrity('*/*')).toBe(false);
    expect(wantsDataIntegrity('application/vc+jwt')).toBe(false);
    expect(wantsDataIntegrity('application/vc+ld+json;q=0')).toBe(false);
  });

  it('serves it to JSON-LD document loaders (application/ld+json, application/json) unless they prefer a JWT', () => {
    // What the W3C Bitstring Status List suite's loader sends.
    expect(wantsDataIntegrity('application/ld+json, application/json')).toBe(true);
    expect(wantsDataIntegrity('application/json')).toBe(true);
    expect(wantsDataIntegrity('application/vc+jwt, application/json;q=0.5')).toBe(false);
    expect(wantsDataIntegrity('application/statuslist+jwt, application/vc+jwt')).toBe(false);
    expect(wantsDataIntegrity('application/json;q=0')).toBe(false);
    expect(wantsDataIntegrity('application/json;q=abc')).toBe(false);
    expect(wantsDataIntegrity('text/html,application/xhtml+xml,*/*;q=0.8')).toBe(false);
  });

  it('answers application/vc, the registered type, to whoever asks for it; a type that says json to everyone else', () => {
    expect(dataIntegrityMediaType('application/vc')).toBe('application/vc');
    expect(dataIntegrityMediaType('application/vc, application/vc+ld+json')).toBe('application/vc');
    expect(dataIntegrityMediaType('application/vc+ld+json, application/vc;q=0.5')).toBe('application/vc+ld+json');
    expect(dataIntegrityMediaType('application/vc+ld+json')).toBe('application/vc+ld+json');
    expect(dataIntegrityMediaType('application/vc+ld+json, application/vc;q=0')).toBe('application/vc+ld+json');
    // A JSON-LD document loader (@digitalbazaar/http-client parses only a content type that says json).
    expect(dataIntegrityMediaType('application/ld+json, application/json')).toBe('application/vc+ld+json');
  });
});
