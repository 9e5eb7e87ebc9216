import { describe, expect, it } from 'vitest';
import { DomainError } from '../../kernel/errors.ts';
import { KeycloakUserChangeFeed } from './keycloak-user-change-feed.ts';

const SELF = '11111111-1111-1111-1111-111111111111';
const USER = '22222222-2222-2222-2222-222222222222';
// A token whose payload names the BFF's service-account user (the signature is never checked here).
const token = `e30.${Buffer.from(JSON.stringify({ sub: SELF })).toString('base64url')}.sig`;

function feedAnswering(body: unknown, status = 200) {
  const urls: URL[] = [];
  const feed = new KeycloakUserChangeFeed({
    keycloakUrl: 'http://kc.test',
    realm: 'platform',
    tokens: { accessToken: async () => token },
    fetch: async (input) => {
      urls.push(new URL(String(input)));
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    },
  });
  return { feed, urls };
}

describe('KeycloakUserChangeFeed', () => {
  it("asks for user admin events oldest first from the position, and leaves out the BFF's own and non-user paths", async () => {
    const { feed, urls } = feedAnswering([
      { id: 'a', time: 10, operationType: 'UPDATE', resourcePath: `users/${USER}`, authDetails: { userId: 'admin' } },
      { id: 'b', time: 11, operationType: 'UPDATE', resourcePath: `users/${USER}`, authDetails: { userId: SELF } },
      { id: 'c', time: 12, operationType: 'UPDATE', resourcePath: `users/${USER}/groups/x`, authDetails: { userId: 'admin' } },
      { id: 'd', time: 13, operationType: 'DELETE', resourcePath: `users/${USER}`, authDetails: { userId: 'admin' } },
    ]);
    const page = await feed.read('keycloak-admin-events', 5, 4);
    expect(urls[0]!.pathname).toBe('/admin/realms/platform/admin-events');
    expect(Object.fromEntries(['dateFrom', 'direction', 'max', 'resourceTypes'].map((k) => [k, urls[0]!.searchParams.get(k)]))).toEqual({
      dateFrom: '5',
      direction: 'asc',
      max: '4',
      resourceTypes: 'USER',
    });
    expect(urls[0]!.searchParams.getAll('operationTypes')).toEqual(['UPDATE', 'DELETE']);
    expect(page).toEqual({
      events: [
        { id: 'a', time: 10, userId: USER, change: 'changed' },
        { id: 'd', time: 13, userId: USER, change: 'deleted' },
      ],
      lastTime: 13,
      full: true,
    });
  });

  it('reads profile and email user events', async () => {
    const { feed, urls } = feedAnswering([{ id: 'e', time: 20, type: 'UPDATE_PROFILE', userId: USER }]);
    const page = await feed.read('keycloak-user-events', 0, 100);
    expect(urls[0]!.pathname).toBe('/admin/realms/platform/events');
    expect(urls[0]!.searchParams.getAll('type')).toEqual(['UPDATE_PROFILE', 'UPDATE_EMAIL']);
    expect(page).toEqual({ events: [{ id: 'e', time: 20, userId: USER, change: 'changed' }], lastTime: 20, full: false });
  });

  it('carries the previous and the new e-mail of an event that replaced it', async () => {
    const details = { previous_email: 'old@example.com', updated_email: 'new@example.com' };
    const { feed } = feedAnswering([
      { id: 'f', time: 30, type: 'UPDATE_EMAIL', userId: USER, details },
      { id: 'g', time: 31, type: 'UPDATE_PROFILE', userId: USER, details: { previous_lastName: 'A', updated_lastName: 'B' } },
      // A first address (nothing replaced) is no change of one.
      { id: 'h', time: 32, type: 'UPDATE_EMAIL', userId: USER, details: { updated_email: 'first@example.com' } },
    ]);
    const { events } = await feed.read('keycloak-user-events', 0, 100);
    expect(events.map((e) => e.emailChange)).toEqual([{ previous: 'old@example.com', updated: 'new@example.com' }, undefined, undefined]);
  });

  it("says whether Keycloak recorded the deletion of a user: an admin DELETE, or the user's own", async () => {
    const deletedByAdmin = feedAnswering([{ id: 'x', time: 1, operationType: 'DELETE', resourcePath: `users/${USER}` }]);
    expect(await deletedByAdmin.feed.wasDeleted(USER)).toBe(true);
    const q = deletedByAdmin.urls[0]!.searchParams;
    expect([deletedByAdmin.urls[0]!.pathname, q.get('resourcePath'), q.get('operationTypes'), q.get('resourceTypes')]).toEqual([
      '/admin/realms/platform/admin-events',
      `users/${USER}`,
      'DELETE',
      'USER',
    ]);
    const never = feedAnswering([]);
    expect(await never.feed.wasDeleted(USER)).toBe(false);
    expect(never.urls.map((u) => u.pathname)).toEqual(['/admin/realms/platform/admin-events', '/admin/realms/platform/events']);
    expect([never.urls[1]!.searchParams.get('type'), never.urls[1]!.searchParams.get('user')]).toEqual(['DELETE_ACCOUNT', USER]);
  });

  it('an empty page keeps no time; Keycloak down or refusing are our error codes', async () => {
    expect(await feedAnswering([]).feed.read('keycloak-user-events', 0, 100)).toEqual({ events: [], lastTime: null, full: false });
    const down = await feedAnswering({}, 503)
      .feed.read('keycloak-user-events', 0, 1)
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DomainError);
    expect((down as DomainError).code).toBe('IDENTITY_DIRECTORY_UNAVAILABLE');
    const refused = await feedAnswering({}, 403)
      .feed.read('keycloak-admin-events', 0, 1)
      .catch((e: unknown) => e);
    expect((refused as DomainError).code).toBe('IDENTITY_DIRECTORY_FAILED');
  });
});
