import { LockMode, type EntityManager } from '@mikro-orm/core';
import { DomainError } from '../kernel/errors.ts';
import { MAX_FRAME_ORIGINS, uniqueOrigins } from './frame-origins.ts';
import { PartnerAppKeySchema, PartnerClientSchema, PartnerUserMappingSchema } from './partner.entities.ts';

/** What the enrollment decision needs about an appKey, its client and one DBP user, in one read. */
export interface AppKeyResolution {
  clientId: string;
  clientEnabled: boolean;
  trustAuth: boolean;
  autoEnroll: boolean;
  kbaBypass: boolean;
  /** The mapped platform user, or null when this DBP user is not enrolled. */
  userId: string | null;
}

export interface AppKeySettings {
  appKey: string;
  autoEnroll: boolean;
  kbaBypass: boolean;
}

export interface PartnerSettings {
  clientId: string;
  name: string;
  trustAuth: boolean;
  enabled: boolean;
  /** Origins allowed to frame the super component for this partner (normalised, see frame-origins.ts). */
  frameOrigins: string[];
  appKeys: AppKeySettings[];
  createdAt: Date;
  updatedAt: Date;
}

const MAX_CACHED = 50_000;

/**
 * Partner settings and DBP user mappings in PostgreSQL. Every method works in a fork of its own and
 * writes immediately: nothing depends on a later flush.
 */
export class PartnerStore {
  readonly #em: EntityManager;
  readonly #now: () => Date;
  readonly #cacheMs: number;
  /** Resolutions of enrolled users (a mapping never changes), for `cacheMs`; bounded, oldest out. */
  readonly #enrolled = new Map<string, { resolution: AppKeyResolution; until: number }>();

  constructor(deps: { em: EntityManager; now?: () => Date; cacheMs?: number }) {
    this.#em = deps.em;
    this.#now = deps.now ?? (() => new Date());
    this.#cacheMs = deps.cacheMs ?? 0;
  }

  /**
   * The hot path of `POST /api/auth/v1`: settings and mapping in one round trip (a primary-key
   * lookup on each table). Null for an unknown appKey.
   *
   * An enrolled user's resolution is kept in memory for `cacheMs`: partners ask for the same users
   * again and again, and the answer only changes when an admin changes the partner. Changes through
   * this store clear it at once; changes by another process (the CLI, another BFF) apply within
   * `cacheMs`. Users who are not enrolled are always read, so a new mapping is seen at once.
   */
  async resolve(appKey: string, dbpUserId: string): Promise<AppKeyResolution | null> {
    const key = `${appKey}\u0000${dbpUserId}`;
    const now = this.#now().getTime();
    const cached = this.#enrolled.get(key);
    if (cached && cached.until > now) return cached.resolution;
    const resolution = await this.#read(appKey, dbpUserId);
    if (this.#cacheMs > 0 && resolution?.userId) {
      if (this.#enrolled.size >= MAX_CACHED) this.#enrolled.delete(this.#enrolled.keys().next().value!);
      this.#enrolled.set(key, { resolution, until: now + this.#cacheMs });
    }
    return resolution;
  }

  async #read(appKey: string, dbpUserId: string): Promise<AppKeyResolution | null> {
    const rows = await this.#em
      .getConnection()
      .execute<{ client_id: string; enabled: boolean; trust_auth: boolean; auto_enroll: boolean; kba_bypass: boolean; user_id: string | null }[]>(
        `select k.client_id, c.enabled, c.trust_auth, k.auto_enroll, k.kba_bypass, m.user_id
         from partner_app_key k
         join partner_client c on c.client_id = k.client_id
         left join partner_user_mapping m on m.app_key = k.app_key and m.dbp_user_id = ?
        where k.app_key = ?`,
        [dbpUserId, appKey],
      );
    const row = rows[0];
    if (!row) return null;
    return {
      clientId: row.client_id,
      clientEnabled: row.enabled,
      trustAuth: row.trust_auth,
      autoEnroll: row.auto_enroll,
      kbaBypass: row.kba_bypass,
      userId: row.user_id,
    };
  }

  async findMapping(appKey: string, dbpUserId: string): Promise<string | null> {
    const row = await this.#em.fork().findOne(PartnerUserMappingSchema, { appKey, dbpUserId });
    return row?.userId ?? null;
  }

  /** Removes every mapping to a deleted user (all partners), here and from this process's cache. */
  async forgetUser(userId: string): Promise<void> {
    await this.#em.getConnection().execute('delete from partner_user_mapping where user_id = ?', [userId], 'run');
    for (const [key, cached] of this.#enrolled) if (cached.resolution.userId === userId) this.#enrolled.delete(key);
  }

  /** The appKeys of the user's mappings, with how many DBP users each maps to it (the account merge's preview). */
  async mappingsOf(userId: string): Promise<{ appKey: string; count: number }[]> {
    const rows = await this.#em
      .getConnection()
      .execute<{ app_key: string; count: string | number }[]>(
        'select app_key, count(*) as count from partner_user_mapping where user_id = ? group by app_key order by app_key',
        [userId],
        'all',
      );
    return rows.map((r: { app_key: string; count: string | number }) => ({ appKey: r.app_key, count: Number(r.count) }));
  }

  /**
   * Moves every mapping of `fromUserId` to `toUserId` (the account merge, decision 0040): the same DBP
   * users now resolve to the account they were merged into. Idempotent; drops this process's cached
   * resolutions of the old account (other processes' expire within the cache time).
   */
  async moveMappings(fromUserId: string, toUserId: string): Promise<number> {
    const moved = await this.#em
      .getConnection()
      .execute<{ app_key: string }[]>('update partner_user_mapping set user_id = ? where user_id = ? returning app_key', [toUserId, fromUserId], 'all');
    for (const [key, cached] of this.#enrolled) if (cached.resolution.userId === fromUserId) this.#enrolled.delete(key);
    return moved.length;
  }

  /**
   * Maps the DBP user to `userId` unless it is mapped already; returns the user it is mapped to.
   * Concurrent callers all get the one mapping that won (insert ... on conflict do nothing).
   */
  async map(appKey: string, dbpUserId: string, userId: string): Promise<string> {
    await this.#em
      .getConnection()
      .execute(
        'insert into partner_user_mapping (app_key, dbp_user_id, user_id, created_at) values (?, ?, ?, ?) on conflict do nothing',
        [appKey, dbpUserId, userId, this.#now()],
        'run',
      );
    const mapped = await this.findMapping(appKey, dbpUserId);
    if (mapped === null) throw new Error('partner user mapping vanished right after it was written');
    return mapped;
  }

  // ------------------------------------------------------------------------------ administration

  async getPartner(clientId: string): Promise<PartnerSettings | null> {
    const em = this.#em.fork();
    const client = await em.findOne(PartnerClientSchema, { clientId });
    if (!client) return null;
    const keys = await em.find(PartnerAppKeySchema, { clientId }, { orderBy: { appKey: 'asc' } });
    return {
      clientId: client.clientId,
      name: client.name,
      trustAuth: client.trustAuth,
      enabled: client.enabled,
      frameOrigins: client.frameOrigins,
      appKeys: keys.map((k) => ({ appKey: k.appKey, autoEnroll: k.autoEnroll, kbaBypass: k.kbaBypass })),
      createdAt: client.createdAt,
      updatedAt: client.updatedAt,
    };
  }

  async listPartners(): Promise<PartnerSettings[]> {
    const clients = await this.#em.fork().find(PartnerClientSchema, {}, { orderBy: { clientId: 'asc' } });
    const out: PartnerSettings[] = [];
    for (const c of clients) {
      const partner = await this.getPartner(c.clientId);
      if (partner) out.push(partner);
    }
    return out;
  }

  /** Inserts the partner and its appKeys in one transaction; CONFLICT when the client or an appKey is taken. */
  async createPartner(input: {
    clientId: string;
    name: string;
    trustAuth: boolean;
    frameOrigins?: string[];
    appKeys: AppKeySettings[];
  }): Promise<PartnerSettings> {
    const now = this.#now();
    await this.#em.fork().transactional(async (em) => {
      if (await em.findOne(PartnerClientSchema, { clientId: input.clientId })) {
        throw new DomainError('CONFLICT', 'This partner is registered already', {
          fields: [{ field: 'clientId', reason: 'taken', message: 'A partner with this client id exists' }],
        });
      }
      await this.#assertAppKeysFree(
        em,
        input.appKeys.map((k) => k.appKey),
        input.clientId,
      );
      em.create(PartnerClientSchema, {
        clientId: input.clientId,
        name: input.name,
        trustAuth: input.trustAuth,
        enabled: true,
        frameOrigins: uniqueOrigins(input.frameOrigins ?? []),
        createdAt: now,
        updatedAt: now,
      });
      for (const k of input.appKeys) {
        em.create(PartnerAppKeySchema, {
          appKey: k.appKey,
          clientId: input.clientId,
          autoEnroll: k.autoEnroll,
          kbaBypass: k.kbaBypass,
          createdAt: now,
          updatedAt: now,
        });
      }
    });
    this.#enrolled.clear();
    return (await this.getPartner(input.clientId))!;
  }

  /** `frameOrigins`, when given, replaces the list. */
  async updatePartner(clientId: string, changes: { name?: string; trustAuth?: boolean; enabled?: boolean; frameOrigins?: string[] }): Promise<PartnerSettings> {
    const { frameOrigins, ...rest } = changes;
    const values = { ...rest, ...(frameOrigins ? { frameOrigins: uniqueOrigins(frameOrigins) } : {}), updatedAt: this.#now() };
    const updated = await this.#em.fork().nativeUpdate(PartnerClientSchema, { clientId }, values);
    this.#enrolled.clear();
    if (updated === 0) throw new DomainError('NOT_FOUND', 'No such partner');
    return (await this.getPartner(clientId))!;
  }

  /**
   * Adds and removes frame origins (normalised ones) in one step under a row lock, so concurrent
   * changes never lose each other's; adding a present origin or removing an absent one changes
   * nothing. VALIDATION_FAILED when the list would exceed MAX_FRAME_ORIGINS.
   */
  async changeFrameOrigins(clientId: string, change: { add?: string[]; remove?: string[] }): Promise<PartnerSettings> {
    await this.#em.fork().transactional(async (em) => {
      const client = await em.findOne(PartnerClientSchema, { clientId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!client) throw new DomainError('NOT_FOUND', 'No such partner');
      const removed = new Set(change.remove ?? []);
      const next = uniqueOrigins([...client.frameOrigins, ...(change.add ?? [])]).filter((o) => !removed.has(o));
      if (next.length > MAX_FRAME_ORIGINS) {
        throw new DomainError('VALIDATION_FAILED', 'Too many frame origins', {
          fields: [{ field: 'frameOrigins', reason: 'too_many', message: `at most ${MAX_FRAME_ORIGINS} origins per partner` }],
        });
      }
      if (next.join(' ') !== client.frameOrigins.join(' ')) {
        client.frameOrigins = next;
        client.updatedAt = this.#now();
      }
    });
    return (await this.getPartner(clientId))!;
  }

  /**
   * Who may frame this partner's super component: its origins, or none when the partner is unknown
   * or disabled. Read on every page view (one primary-key lookup): a change applies at once.
   */
  async frameOriginsOf(clientId: string): Promise<string[]> {
    const rows = await this.#em
      .getConnection()
      .execute<{ frame_origins: string[] }[]>('select frame_origins from partner_client where client_id = ? and enabled', [clientId]);
    return rows[0]?.frame_origins ?? [];
  }

  /** Creates or changes an appKey of this partner; CONFLICT when another partner holds it. */
  async putAppKey(clientId: string, key: AppKeySettings): Promise<PartnerSettings> {
    const now = this.#now();
    await this.#em.fork().transactional(async (em) => {
      if (!(await em.findOne(PartnerClientSchema, { clientId }))) throw new DomainError('NOT_FOUND', 'No such partner');
      await this.#assertAppKeysFree(em, [key.appKey], clientId);
      const existing = await em.findOne(PartnerAppKeySchema, { appKey: key.appKey });
      if (existing) {
        existing.autoEnroll = key.autoEnroll;
        existing.kbaBypass = key.kbaBypass;
        existing.updatedAt = now;
      } else {
        em.create(PartnerAppKeySchema, { appKey: key.appKey, clientId, autoEnroll: key.autoEnroll, kbaBypass: key.kbaBypass, createdAt: now, updatedAt: now });
      }
    });
    this.#enrolled.clear();
    return (await this.getPartner(clientId))!;
  }

  /** CONFLICT when another partner holds one of these appKeys (checked before anything is written). */
  async assertAppKeysFree(clientId: string, appKeys: string[]): Promise<void> {
    await this.#assertAppKeysFree(this.#em.fork(), appKeys, clientId);
  }

  async #assertAppKeysFree(em: EntityManager, appKeys: string[], clientId: string): Promise<void> {
    if (appKeys.length === 0) return;
    const taken = await em.find(PartnerAppKeySchema, { appKey: { $in: appKeys }, clientId: { $ne: clientId } });
    if (taken.length > 0) {
      throw new DomainError('CONFLICT', 'An appKey belongs to another partner', {
        fields: taken.map((k) => ({ field: 'appKeys', reason: 'taken', message: `appKey ${k.appKey} belongs to another partner` })),
      });
    }
  }
}
