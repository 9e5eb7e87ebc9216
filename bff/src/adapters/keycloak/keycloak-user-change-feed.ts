import { decodeJwt } from 'jose';
import { DomainError } from '../../kernel/errors.ts';
import type { FeedPage, UserChangeFeed, UserEvent } from '../../ports/user-change-feed.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

/** User events that change what the upstream core holds (profile, email); saved by Keycloak by default. */
const USER_EVENT_TYPES = ['UPDATE_PROFILE', 'UPDATE_EMAIL'];
const USER_PATH = /^users\/([0-9a-f-]{36})$/;

interface AdminEventJson {
  id?: string;
  time?: number;
  operationType?: string;
  resourcePath?: string;
  authDetails?: { userId?: string };
}

interface UserEventJson {
  id?: string;
  time?: number;
  type?: string;
  userId?: string;
  details?: Record<string, string>;
}

/**
 * Keycloak's event store over the Admin API (`/admin-events`, `/events`, both with `direction=asc`
 * and `dateFrom` in epoch ms, Keycloak 26), as the BFF's service account (realm-management
 * `view-events`). Admin events made by that same service account are left out: the BFF's own writes
 * (account creation, linking, the user-management API) update the upstream core themselves.
 */
export class KeycloakUserChangeFeed implements UserChangeFeed {
  readonly feeds = ['keycloak-admin-events', 'keycloak-user-events'] as const;
  readonly #base: string;
  readonly #tokens: Pick<ServiceAccountTokens, 'accessToken'>;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: { keycloakUrl: string; realm: string; tokens: Pick<ServiceAccountTokens, 'accessToken'>; fetch?: typeof fetch; timeoutMs?: number }) {
    this.#base = `${opts.keycloakUrl}/admin/realms/${encodeURIComponent(opts.realm)}`;
    this.#tokens = opts.tokens;
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
  }

  async read(feed: string, sinceMs: number, max: number): Promise<FeedPage> {
    const query = new URLSearchParams({ dateFrom: String(Math.max(0, Math.floor(sinceMs))), direction: 'asc', first: '0', max: String(max) });
    if (feed === 'keycloak-admin-events') {
      query.append('resourceTypes', 'USER');
      for (const op of ['UPDATE', 'DELETE']) query.append('operationTypes', op);
      const token = await this.#tokens.accessToken();
      const self = decodeJwt(token).sub;
      const raw = await this.#get<AdminEventJson[]>(`/admin-events?${query}`, token);
      const events: UserEvent[] = [];
      for (const e of raw) {
        const userId = USER_PATH.exec(e.resourcePath ?? '')?.[1];
        if (!userId || e.time === undefined || e.authDetails?.userId === self) continue;
        events.push({
          id: e.id ?? `${e.time}:${e.operationType}:${e.resourcePath}`,
          time: e.time,
          userId,
          change: e.operationType === 'DELETE' ? 'deleted' : 'changed',
        });
      }
      return page(raw, events, max);
    }
    if (feed === 'keycloak-user-events') {
      for (const type of USER_EVENT_TYPES) query.append('type', type);
      const raw = await this.#get<UserEventJson[]>(`/events?${query}`, await this.#tokens.accessToken());
      const events: UserEvent[] = raw
        .filter((e): e is UserEventJson & { time: number; userId: string } => e.time !== undefined && typeof e.userId === 'string')
        .map((e) => {
          // UPDATE_EMAIL (a confirmed update-email link) and UPDATE_PROFILE name both values of a changed e-mail.
          const previous = e.details?.previous_email;
          const updated = e.details?.updated_email;
          return {
            id: e.id ?? `${e.time}:${e.type}:${e.userId}`,
            time: e.time,
            userId: e.userId,
            change: 'changed' as const,
            ...(previous && updated && previous !== updated ? { emailChange: { previous, updated } } : {}),
          };
        });
      return page(raw, events, max);
    }
    throw new Error(`unknown feed ${feed}`);
  }

  async wasDeleted(userId: string): Promise<boolean> {
    const token = await this.#tokens.accessToken();
    const path = new URLSearchParams({ resourceTypes: 'USER', operationTypes: 'DELETE', resourcePath: `users/${userId}`, first: '0', max: '1' });
    if ((await this.#get<unknown[]>(`/admin-events?${path}`, token)).length > 0) return true;
    const own = new URLSearchParams({ type: 'DELETE_ACCOUNT', user: userId, first: '0', max: '1' });
    return (await this.#get<unknown[]>(`/events?${own}`, token)).length > 0;
  }

  async #get<T>(path: string, token: string): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', 'Keycloak unreachable while reading events', { cause: err });
    }
    if (res.status === 200) return (await res.json()) as T;
    if (res.status >= 502 && res.status <= 504)
      throw new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unavailable while reading events (HTTP ${res.status})`);
    throw new DomainError('IDENTITY_DIRECTORY_FAILED', `Keycloak refused reading events (HTTP ${res.status}; service-account role view-events?)`);
  }
}

function page(raw: { time?: number }[], events: UserEvent[], max: number): FeedPage {
  const times = raw.map((e) => e.time).filter((t): t is number => t !== undefined);
  return { events, lastTime: times.length > 0 ? Math.max(...times) : null, full: raw.length >= max };
}
