/**
 * The port through which wallet login asks the verifier for a presentation and reads its outcome. The login
 * module knows nothing else of the verifier; `verifier-presentations.adapter.ts` implements it over the
 * verifier's public service, and is the only file to change when the verifier is restructured.
 */
export interface StartPresentation {
  /** The DCQL query (the verifier parses and validates it). */
  dcqlQuery: Record<string, unknown>;
  /** Shown to the citizen by the wallet: who asks and why. */
  purpose: string;
  /** Same-device flow: where the wallet sends the browser back; the outcome then needs its response code. */
  returnUri?: string;
  /** The consortium data-sharing permission the portal relies on (issue 15); passed on, not yet enforced. */
  dataSharingPermission?: string;
}

export interface StartedPresentation {
  id: string;
  /** The openid4vp:// link (same-device) and the same as a QR code (cross-device). */
  link: string;
  qrPng: string;
  qrSvg: string;
  expiresAt: Date;
  /** Opaque capability to read the outcome; kept sealed by the caller. */
  readToken: string;
}

export type PresentationOutcome =
  | { status: 'pending' }
  | { status: 'expired' }
  /** Answered on another device: the verdict is released only with the response code of the wallet's redirect. */
  | { status: 'answered'; responseCodeRequired: true }
  | { status: 'rejected'; failedChecks: string[] }
  | { status: 'verified'; requestId: string; credentialType: string; issuer: string; claims: Record<string, unknown> };

export interface WalletPresentations {
  start(request: StartPresentation): Promise<StartedPresentation>;
  outcome(id: string, readToken: string, responseCode?: string): Promise<PresentationOutcome>;
}

export const WALLET_PRESENTATIONS = Symbol('WALLET_PRESENTATIONS');
