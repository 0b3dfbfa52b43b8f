import type { Verdict } from '../../oid4vp/index.js';
import type { RelyingPartyService } from '../relying-parties/relying-party.service.js';
import type { UsageLog } from '../../audit/index.js';
import { DATA_SHARING_REFUSAL, PresentationAudit } from './presentation-audit.js';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (payload: object) => `${b64({ alg: 'ES256' })}.${b64(payload)}.c2ln`;
const passed = [
  { check: 'signature', passed: true },
  { check: 'holder_binding', passed: true },
] as const;

describe('PresentationAudit.recordOf', () => {
  const audit = new PresentationAudit(
    { byId: async () => ({ name: 'Bank', purpose: 'account opening' }) } as unknown as RelyingPartyService,
    {} as UsageLog,
  );
  const request = { id: 'request-1', relyingPartyId: 'party-1', purpose: null };

  it("records no fingerprint of a credential slipped into a JWT VP beside the holder's own", async () => {
    // Bob's VP: his own credential (the one verified) and a copy of Alice's issuer JWT, which nothing verified.
    const vp = jwt({ vp: { verifiableCredential: [jwt({ iss: 'bob-issuer' }), jwt({ iss: 'alice-issuer' })] } });
    const verdict: Verdict = {
      verified: false,
      reason: 'one credential per presentation',
      credentials: [{ queryId: 'q', checks: [...passed] }],
    };
    const record = await audit.recordOf(request, verdict, [vp]);
    expect(record?.credentials.map((credential) => credential.fingerprints)).toEqual([[]]);
    // The same with Bob's credential as an envelope first and Alice's copy as a string.
    const envelope = {
      '@context': ['https://www.w3.org/ns/credentials/v2'],
      type: 'EnvelopedVerifiableCredential',
      id: `data:application/vc+jwt,${jwt({ iss: 'bob-issuer' })}`,
    };
    const mixed = jwt({ vp: { verifiableCredential: [envelope, jwt({ iss: 'alice-issuer' })] } });
    expect((await audit.recordOf(request, verdict, [mixed]))?.credentials[0]?.fingerprints).toEqual([]);
    // A VP of one credential, enveloped: that credential's fingerprint.
    const single = jwt({ vp: { verifiableCredential: [envelope] } });
    expect((await audit.recordOf(request, verdict, [single]))?.credentials[0]?.fingerprints).toHaveLength(1);
  });

  it('records a refusal by policy, and nothing for a rejected answer in which nothing is authentic', async () => {
    const byPolicy = await audit.recordOf(
      request,
      { verified: false, reason: `${DATA_SHARING_REFUSAL} withdrawn`, credentials: [] },
      [],
    );
    expect(byPolicy).toMatchObject({ verified: false, credentials: [] });
    const junk: Verdict = {
      verified: false,
      reason: 'bad',
      credentials: [{ queryId: 'q', checks: [{ check: 'format', passed: false }] }],
    };
    expect(await audit.recordOf(request, junk, ['x'])).toBeUndefined();
  });
});
