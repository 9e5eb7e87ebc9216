import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../../kernel/errors.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';

/**
 * Sign-in tickets (issue 17 §3, decision 0027): the sign-up page hands one to Keycloak's
 * `platform-sign-up/continue` endpoint, whose authenticator redeems it here (internal route) and signs
 * the new account into the authentication session the person came from. A ticket is a bearer
 * credential for one sign-in, so it is:
 * - unguessable: 32 random bytes (256 bits), base64url;
 * - stored only as its SHA-256 (a Redis dump yields nothing usable), with `{ userId, tabId }` in
 *   clear: a Keycloak user id and an authentication-session tab id are not personal data;
 * - short-lived: SIGNUP_TICKET_TTL_SECONDS (5 minutes), the key expires with it;
 * - single use: redeemed with GETDEL, so of concurrent redeems exactly one gets the user;
 * - bound to the tab: redeemed only for the authentication session tab it was minted for. A redeem
 *   for another tab burns it all the same (it was read and deleted): a ticket seen in the wrong place
 *   is not left usable.
 *
 *   signup:ticket:{sha256(ticket)}   {"userId","tabId"}   SIGNUP_TICKET_TTL_SECONDS
 */
export interface SignInTicket {
  userId: string;
  tabId: string;
}

export interface SignInTicketsDeps {
  store: EphemeralStore;
  ttlSeconds: number;
}

/** The ticket's shape: 43 base64url characters (32 bytes). Anything else is not looked up. */
const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Keycloak's tab ids are short base64url strings; bounded so nothing large reaches Redis. */
export const TAB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const keyOf = (ticket: string) => `signup:ticket:${createHash('sha256').update(ticket).digest('base64url')}`;

export class SignInTickets {
  readonly #store: EphemeralStore;
  readonly #ttlSeconds: number;

  constructor(deps: SignInTicketsDeps) {
    this.#store = deps.store;
    this.#ttlSeconds = deps.ttlSeconds;
  }

  /** A fresh ticket for `userId`, usable once, for `tabId` only, within the TTL. */
  async mint(ticket: SignInTicket): Promise<string> {
    if (!TAB_ID_PATTERN.test(ticket.tabId)) throw new RangeError('not a tab id');
    const value = randomBytes(32).toString('base64url');
    await this.#store.set(keyOf(value), JSON.stringify({ userId: ticket.userId, tabId: ticket.tabId }), ttlSeconds(this.#ttlSeconds));
    return value;
  }

  /**
   * The user the ticket was minted for, once. Unknown, used, expired and other-tab tickets all get the
   * same NOT_FOUND, so a caller learns nothing about which it was.
   */
  async redeem(ticket: string, tabId: string): Promise<{ userId: string }> {
    if (!TICKET_PATTERN.test(ticket) || !TAB_ID_PATTERN.test(tabId)) throw unknownTicket();
    const raw = await this.#store.getAndDelete(keyOf(ticket));
    if (raw === null) throw unknownTicket();
    const stored = JSON.parse(raw) as SignInTicket;
    if (stored.tabId !== tabId) throw unknownTicket();
    return { userId: stored.userId };
  }
}

function unknownTicket(): DomainError {
  return new DomainError('NOT_FOUND', 'No such sign-in ticket: it is unknown, used, expired or for another sign-in');
}
