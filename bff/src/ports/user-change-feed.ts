/**
 * Keycloak's stored events about users, read in the order they happened: admin events (admin
 * console, Admin API callers other than the BFF itself) and user events (account console, required
 * actions). Keycloak writes them in the transaction of the change, so reading them with a durable
 * cursor misses nothing while the BFF is down. Adapter: `adapters/keycloak/keycloak-user-change-feed.ts`.
 * Errors: IDENTITY_DIRECTORY_UNAVAILABLE / IDENTITY_DIRECTORY_FAILED.
 */

/** One user touched by a Keycloak event (admin or user event). */
export interface UserEvent {
  /** Keycloak's event id (unique per feed). */
  id: string;
  /** Epoch ms. */
  time: number;
  userId: string;
  /** `deleted` for an admin DELETE of the user; `changed` for anything else. */
  change: 'changed' | 'deleted';
  /** A user event that replaced the account's e-mail (Keycloak's `previous_email`/`updated_email` details). */
  emailChange?: { previous: string; updated: string };
}

export interface FeedPage {
  /** The events of this page that touch a user's profile or status. */
  events: UserEvent[];
  /** Time (epoch ms) of the newest event read, relevant or not; null when the page was empty. */
  lastTime: number | null;
  /** The page was full: more events may follow right away. */
  full: boolean;
}

/** The feeds of a Keycloak realm, each read with its own cursor. */
export interface UserChangeFeed {
  /** Feeds by name. */
  readonly feeds: readonly string[];
  /** Events of `feed` from `sinceMs` (inclusive), oldest first, at most `max`. */
  read(feed: string, sinceMs: number, max: number): Promise<FeedPage>;
  /**
   * Whether Keycloak recorded the deletion of this user (by an admin, an Admin API client or the user
   * themself). Admin events are kept for good; user events for the realm's `eventsExpiration`.
   */
  wasDeleted(userId: string): Promise<boolean>;
}
