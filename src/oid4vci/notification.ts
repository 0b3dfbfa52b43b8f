import { z } from 'zod';
import { oauthError } from '../oauth/index.js';

export const NOTIFICATION_EVENTS = ['credential_accepted', 'credential_failure', 'credential_deleted'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

const notificationSchema = z.object({
  notification_id: z.string(),
  event: z.enum(NOTIFICATION_EVENTS),
  event_description: z.string().optional(),
});

/**
 * §11.1: the description is ASCII that "MUST NOT include characters outside the set %x20-21 / %x23-5B / %x5D-7E". One
 * that does not (a wallet's message in Chinese, say), or is longer than we keep, is dropped, not the report: the event
 * is what ends a re-delivery or records a failure.
 */
const DESCRIPTION = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{0,500}$/;

/** Our notification ids are at most 64 characters: a longer or empty one names none of them. */
const MAX_NOTIFICATION_ID = 64;

export interface Notification {
  id: string;
  event: NotificationEvent;
  description: string | null;
}

/** A notification request (OID4VCI 1.0 §11.1); a malformed one is invalid_notification_request, an impossible id invalid_notification_id. */
export function parseNotification(body: unknown): Notification {
  const parsed = notificationSchema.safeParse(body);
  if (!parsed.success)
    throw oauthError(400, 'invalid_notification_request', `Invalid ${parsed.error.issues[0]?.path.join('.') || 'request'}`);
  // §11.3: an id that cannot be one of ours is invalid_notification_id, as an unknown one is.
  if (parsed.data.notification_id.length === 0 || parsed.data.notification_id.length > MAX_NOTIFICATION_ID)
    throw oauthError(400, 'invalid_notification_id', 'Unknown notification_id');
  const description = parsed.data.event_description;
  return {
    id: parsed.data.notification_id,
    event: parsed.data.event,
    description: description !== undefined && DESCRIPTION.test(description) ? description : null,
  };
}

/**
 * When the first report was already recorded (or the id is unknown): the same event again for the same offer is a
 * success that changes nothing (notifications are idempotent); another event is a later report, which the wallet
 * may send (OID4VCI 1.0 §11.1: "one or more Notification Requests per notification_id", e.g. credential_deleted
 * after credential_accepted) and which replaces the recorded one; an id unknown to this offer is invalid_notification_id.
 */
export function laterNotification(
  known: { offerId: string; event: string | null } | null,
  offerId: string,
  event: NotificationEvent,
): 'repeated' | 'later' {
  if (known?.offerId !== offerId) throw oauthError(400, 'invalid_notification_id', 'Unknown notification_id');
  return known.event === event ? 'repeated' : 'later';
}
