import { wantsDataIntegrity } from './data-integrity-list.js';

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
});
