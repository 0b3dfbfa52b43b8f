import type { AppConfig } from '../../config/index.js';
import { VerdictDeliveryService } from './verdict-delivery.service.js';

describe('VerdictDeliveryService.notify', () => {
  it('never rejects, even when the relying party cannot be read (it runs without await after the verdict)', async () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const parties = { byId: () => Promise.reject(outage) };
    const config = {
      oid4vp: { verdictRetentionSeconds: 60 },
      platform: { rateLimitPerResourcePerMinute: 30 },
    } as unknown as AppConfig;
    const delivery = new VerdictDeliveryService(
      undefined as never,
      parties as never,
      undefined as never,
      undefined as never,
      config,
    );
    await expect(
      delivery.notify({ id: 'request-1', relyingPartyId: 'party-1' }, { verified: true } as never),
    ).resolves.toBeUndefined();
  });
});
