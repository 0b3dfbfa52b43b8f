import { OAuthError } from '../common/index.js';
import { laterNotification, parseNotification } from './notification.js';

describe('notifications (OID4VCI 1.0 §11)', () => {
  it('parses a report', () => {
    expect(parseNotification({ notification_id: 'n1', event: 'credential_accepted' })).toEqual({
      id: 'n1',
      event: 'credential_accepted',
      description: null,
    });
    expect(parseNotification({ notification_id: 'n1', event: 'credential_failure', event_description: 'bad' }).description).toBe(
      'bad',
    );
  });

  it('refuses a malformed report with invalid_notification_request', () => {
    for (const body of [
      undefined,
      {},
      { notification_id: '', event: 'credential_accepted' },
      { notification_id: 'n'.repeat(65), event: 'credential_accepted' },
      { notification_id: 'n1', event: 'credential_lost' },
      { notification_id: 'n1', event: 'credential_deleted', event_description: 'd'.repeat(501) },
    ]) {
      let code: string | undefined;
      try {
        parseNotification(body);
      } catch (error) {
        code = error instanceof OAuthError ? error.error : 'other';
      }
      expect(code).toBe('invalid_notification_request');
    }
  });

  it('accepts the same report again (idempotent) and a later event (§11.1), refuses another offer’s or an unknown id', () => {
    const thrown = (run: () => unknown) => {
      try {
        run();
        return undefined;
      } catch (error) {
        return error instanceof OAuthError ? error.error : 'other';
      }
    };
    const known = { offerId: 'o1', event: 'credential_accepted' };
    expect(laterNotification(known, 'o1', 'credential_accepted')).toBe('repeated');
    expect(laterNotification(known, 'o1', 'credential_deleted')).toBe('later');
    expect(thrown(() => laterNotification(known, 'o2', 'credential_accepted'))).toBe('invalid_notification_id');
    expect(thrown(() => laterNotification(null, 'o1', 'credential_accepted'))).toBe('invalid_notification_id');
  });
});
