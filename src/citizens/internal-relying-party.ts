import { sha256Hex } from '../common/index.js';
import type { KeyService } from '../keys/index.js';
import type { RelyingPartyEntity, RelyingPartyService } from '../verifier/index.js';
import type { CitizenLoginRepository } from './login/login.repository.js';

/**
 * The relying party one of our own citizen pages (wallet login, usage log) verifies through. A new claims
 * set gets a new party, since registrations cannot be widened; racing replicas each register one, and the
 * first API key stored (sealed through src/keys) is the one every replica uses.
 */
export async function findOrRegisterInternalParty(
  deps: { parties: RelyingPartyService; settings: CitizenLoginRepository; keys: KeyService },
  settingPrefix: string,
  registration: Record<string, unknown>,
  allowedClaims: unknown,
): Promise<RelyingPartyEntity> {
  const setting = `${settingPrefix}:${sha256Hex(JSON.stringify(allowedClaims)).slice(0, 16)}`;
  let sealed = (await deps.settings.setting(setting))?.value;
  if (!sealed) {
    const registered = await deps.parties.register({
      ...registration,
      allowedClaims,
      clientIdPrefix: 'decentralized_identifier',
    });
    sealed = await deps.settings.settingOnce(setting, await deps.keys.sealJson(registered.apiKey, setting));
  }
  return deps.parties.authenticate(await deps.keys.openJson<string>(sealed, setting));
}
