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

  const codeOf = (body: unknown): string | undefined => {
    try {
      parseNotification(body);
      return undefined;
    } catch (error) {
      return error instanceof OAuthError ? error.error : 'other';
    }
  };

  it('refuses a malformed report with invalid_notification_request', () => {
    for (const body of [
      undefined,
      {},
      { notification_id: 7, event: 'credential_accepted' },
      { notification_id: 'n1', event: 'credential_lost' },
      { notification_id: 'n1', event: 'credential_deleted', event_description: 42 },
    ])
      expect(codeOf(body)).toBe('invalid_notification_request');
  });

  it('keeps the event of a report whose description is outside §11.1 ASCII or too long, without the description', () => {
    for (const event_description of ['"quoted"', 'back\\slash', 'line\nbreak', '无法存储', 'tab\t', 'd'.repeat(501)])
      expect(parseNotification({ notification_id: 'n1', event: 'credential_failure', event_description })).toEqual({
        id: 'n1',
        event: 'credential_failure',
        description: null,
      });
    expect(
      parseNotification({ notification_id: 'n1', event: 'credential_failure', event_description: 'Storage full (code 7)!' })
        .description,
    ).toBe('Storage full (code 7)!');
  });

  it('answers an id that cannot be ours (empty, too long) with invalid_notification_id (§11.3)', () => {
    expect(codeOf({ notification_id: '', event: 'credential_accepted' })).toBe('invalid_notification_id');
    expect(codeOf({ notification_id: 'n'.repeat(65), event: 'credential_accepted' })).toBe('invalid_notification_id');
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
