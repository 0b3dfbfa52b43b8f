import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import type { Jwk } from '@openid4vc/oauth2';
import { merged } from '../../common/index.js';
import { KeyService } from '../../keys/index.js';
import { jwkThumbprint, p256HexToJwk } from '../../credentials/index.js';
import { TokenKeyRepository } from './token-key.repository.js';
import type { Oid4vciTokenKeyEntity } from './token-key.entity.js';

/** Owner of the access-token keys in src/keys (also the key of deployments from before generations). */
export const ACCESS_TOKEN_KEY_OWNER = 'oid4vci:access-token';
/** How long a replica trusts its view of the active keys before reading them again. */
const REFRESH_MS = 60_000;

export interface TokenKey {
  generation: number;
  keyId: string;
  kid: string;
  jwk: Jwk;
}

const toKey = (row: Oid4vciTokenKeyEntity): TokenKey => ({
  generation: row.generation,
  keyId: row.keyId,
  kid: row.kid,
  jwk: row.publicJwk,
});

/**
 * The OID4VCI access-token signing keys, shared by every replica through the database: the first key is
 * created once (insert of generation 1; racing replicas read the winner back), tokens are signed with the
 * newest active key, and any active key verifies (looked up by kid, re-read from the database on a miss).
 */
@Injectable()
export class TokenKeys {
  private cache: { keys: TokenKey[]; loadedAt: number } | undefined;
  private ensuring: Promise<TokenKey> | undefined;
  /** A re-read that callers without a write of their own share (the refresh, an unknown kid). */
  private refreshing: Promise<void> | undefined;
  /** The newest read of the keys started (settled, never rejected): an unknown kid is answered once it is in. */
  private latestRead: Promise<void> | undefined;
  /** When a read of the keys last started: an unknown kid asks again at most once a second. */
  private lastReadStartedAt = 0;
  /** Reads started and the newest whose answer is in `cache`: a slower, older read never replaces a newer one. */
  private readsStarted = 0;
  private readApplied = 0;

  constructor(
    private readonly repository: TokenKeyRepository,
    private readonly keys: KeyService,
  ) {}

  /** Every key that verifies tokens now, newest first (the JWKS). */
  async active(): Promise<TokenKey[]> {
    if (!this.cache || Date.now() - this.cache.loadedAt > REFRESH_MS) await this.refresh();
    if (this.cache!.keys.length === 0) await this.ensure();
    return this.cache!.keys;
  }

  /** The JWKS (RFC 7517) of every active key: any replica may have signed a live token with any of them. */
  async jwks(): Promise<{ keys: (Jwk & { kid: string; use: 'sig'; alg: 'ES256' })[] }> {
    const keys = await this.active();
    return { keys: keys.map((key) => merged(key.jwk, { kid: key.kid, use: 'sig' as const, alg: 'ES256' as const })) };
  }

  /** The key new tokens are signed with. */
  async current(): Promise<TokenKey> {
    return (await this.active())[0]!;
  }

  /**
   * The active key named `kid`, reading the database again when this replica does not know it yet: it may be
   * a key another replica has just rotated to (a token it signed can reach this one at once), or a forgery.
   * The keys are read again at most once a second, shared by every unknown kid meanwhile (a burst of junk
   * tokens costs one query a second, and waits for it); a read that started before the caller asked may
   * predate the rotation, so the answer comes from a read that started after.
   */
  async byKid(kid: string): Promise<TokenKey | undefined> {
    const find = () => this.cache?.keys.find((key) => key.kid === kid);
    const known = (await this.active()).find((key) => key.kid === kid);
    if (known) return known;
    const askedAt = Date.now();
    await this.latestRead;
    if (this.lastReadStartedAt >= askedAt) return find();
    const wait = this.lastReadStartedAt + 1_000 - Date.now();
    if (wait > 0) await sleep(wait);
    // A refresh still in flight may have started before the kid was asked: then one more (at most).
    while (this.lastReadStartedAt < askedAt) await this.refresh();
    // The newest read (a refresh, or a rotation's own) is the one answered from, once it is in.
    await this.latestRead;
    return find();
  }

  /** Makes sure an active key exists; safe to call concurrently from any number of replicas. */
  ensure(): Promise<TokenKey> {
    this.ensuring ??= this.createFirst().finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  /**
   * Rotation: a new generation becomes current; older keys keep verifying for `graceSeconds` (at least
   * the access-token lifetime) and then drop out of the JWKS. Concurrent rotations make one new key.
   */
  async rotate(graceSeconds: number, now = new Date()): Promise<TokenKey> {
    // Compare-and-set on the generation this replica sees as current: replicas rotating from the same
    // view insert the same generation, and only one insert wins.
    const generation = (await this.current()).generation + 1;
    await this.insertGeneration(generation, false);
    await this.repository.retireOlderThan(generation, new Date(now.getTime() + graceSeconds * 1000));
    await this.reload();
    return this.cache!.keys[0]!;
  }

  private async createFirst(): Promise<TokenKey> {
    // One read decides: the newest generation is still active (use it), or the next one is to be made.
    // Racing replicas that saw the same newest row insert the same generation; one insert wins.
    const latest = await this.repository.latest();
    if (!latest || (latest.retireAt !== null && latest.retireAt <= new Date())) {
      const generation = (latest?.generation ?? 0) + 1;
      await this.insertGeneration(generation, generation === 1);
    }
    await this.reload();
    if (this.cache!.keys.length === 0) throw new Error('No active access-token key after creating one');
    return this.cache!.keys[0]!;
  }

  private async insertGeneration(generation: number, adoptLegacy: boolean): Promise<void> {
    // A deployment from before generations has its key under the owner; keep it so its tokens stay valid.
    const legacy = adoptLegacy ? await this.keys.findByOwner(ACCESS_TOKEN_KEY_OWNER, 'service-account') : null;
    const key = legacy ?? (await this.keys.createKey('ES256', 'service-account', ACCESS_TOKEN_KEY_OWNER));
    const jwk = p256HexToJwk(key.publicKeyHex);
    // Losing the race leaves our freshly made key unused in src/keys; the winner's row is what counts.
    await this.repository.insertIfAbsent({
      generation,
      keyId: key.id,
      kid: jwkThumbprint(jwk),
      publicJwk: { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y },
      createdAt: new Date(),
      retireAt: null,
    });
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.reload().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** A read of its own, for callers that must see their own write (a read in flight may predate it). */
  private reload(): Promise<void> {
    const read = this.read();
    this.latestRead = read.catch(() => undefined);
    return read;
  }

  private async read(): Promise<void> {
    const read = ++this.readsStarted;
    this.lastReadStartedAt = Date.now();
    const keys = (await this.repository.active(new Date())).map(toKey);
    if (read < this.readApplied) return;
    this.readApplied = read;
    this.cache = { keys, loadedAt: Date.now() };
  }
}
