import { OAuthError } from '../common/index.js';
import { parseNotification, repeatedNotificationProblem } from './notification.js';

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

  it('accepts the same report again (idempotent), refuses another event or another offer’s id', () => {
    const known = { offerId: 'o1', event: 'credential_accepted' };
    expect(repeatedNotificationProblem(known, 'o1', 'credential_accepted')).toBeUndefined();
    expect(repeatedNotificationProblem(known, 'o1', 'credential_deleted')?.error).toBe('invalid_notification_id');
    expect(repeatedNotificationProblem(known, 'o2', 'credential_accepted')?.error).toBe('invalid_notification_id');
    expect(repeatedNotificationProblem(null, 'o1', 'credential_accepted')?.error).toBe('invalid_notification_id');
  });
});
