import { describe, expect, it } from 'vitest';
import { advanceCursor, diffSnapshots, mergeEvents, resyncChanges, retryDelayMs, snapshotOf, type MemberSnapshot, type UserEvent } from './changes.ts';

const asha: MemberSnapshot = { firstName: 'Asha', lastName: 'Rao', email: 'asha@example.org', phone: '+919876543210', enabled: true };

describe('diffSnapshots', () => {
  it('first sight: the whole profile, no status change for an enabled member', () => {
    expect(diffSnapshots(null, asha)).toEqual([
      { kind: 'profile', changes: { firstName: 'Asha', lastName: 'Rao', email: 'asha@example.org', phone: '+919876543210' } },
    ]);
  });

  it('first sight of a disabled member: profile, then status inactive', () => {
    expect(diffSnapshots(null, { ...asha, enabled: false })).toEqual([
      { kind: 'profile', changes: expect.any(Object) },
      { kind: 'status', active: false },
    ]);
  });

  it('only the fields that changed; null clears', () => {
    expect(diffSnapshots(asha, { ...asha, firstName: 'Asha K', phone: null })).toEqual([{ kind: 'profile', changes: { firstName: 'Asha K', phone: null } }]);
  });

  it('status alone, both ways', () => {
    expect(diffSnapshots(asha, { ...asha, enabled: false })).toEqual([{ kind: 'status', active: false }]);
    expect(diffSnapshots({ ...asha, enabled: false }, asha)).toEqual([{ kind: 'status', active: true }]);
  });

  it('profile before status when both changed', () => {
    expect(diffSnapshots(asha, { ...asha, email: 'a@example.org', enabled: false }).map((c) => c.kind)).toEqual(['profile', 'status']);
  });

  it('nothing changed: nothing to send (a re-read event is a no-op)', () => {
    expect(diffSnapshots(asha, { ...asha })).toEqual([]);
  });
});

describe('resyncChanges', () => {
  it('everything the core holds, whatever changed: the whole profile, then the status (active too)', () => {
    expect(resyncChanges(asha)).toEqual([
      { kind: 'profile', changes: { firstName: 'Asha', lastName: 'Rao', email: 'asha@example.org', phone: '+919876543210' } },
      { kind: 'status', active: true },
    ]);
  });

  it('of a Keycloak account: no first name falls back to the username, absent fields are null', () => {
    const user = { id: 'u-1', username: 'asha.rao', enabled: false, emailVerified: false, attributes: {} };
    expect(snapshotOf(user)).toEqual({ firstName: 'asha.rao', lastName: null, email: null, phone: null, enabled: false });
  });
});

describe('mergeEvents', () => {
  it('orders both feeds by time, ties by id', () => {
    const merged = mergeEvents(
      [
        { id: 'b', time: 20, userId: 'u1', change: 'changed' },
        { id: 'd', time: 40, userId: 'u1', change: 'deleted' },
      ],
      [
        { id: 'a', time: 20, userId: 'u2', change: 'changed' },
        { id: 'c', time: 10, userId: 'u1', change: 'changed' },
      ],
    );
    expect(merged.map((e) => e.id)).toEqual(['c', 'a', 'b', 'd']);
  });
});

describe('retryDelayMs', () => {
  const settings = { baseDelayMs: 1000, maxDelayMs: 60_000 };

  it('doubles per attempt, between half and all of the exponential step', () => {
    expect(retryDelayMs(1, settings, () => 0)).toBe(500);
    expect(retryDelayMs(1, settings, () => 1)).toBe(1000);
    expect(retryDelayMs(4, settings, () => 0)).toBe(4000);
    expect(retryDelayMs(4, settings, () => 1)).toBe(8000);
  });

  it('never exceeds the cap, however many attempts', () => {
    expect(retryDelayMs(30, settings, () => 1)).toBe(60_000);
    expect(retryDelayMs(30, settings, () => 0)).toBe(30_000);
  });
});

describe('advanceCursor', () => {
  const ev = (id: string, time: number): UserEvent => ({ id, time, userId: 'u1', change: 'changed' });

  it('hands over only events not handled before; a re-read through the look-back is skipped', () => {
    const first = advanceCursor({ position: 1000, seen: [] }, [ev('a', 1100), ev('b', 1200)], 1200, 500);
    expect(first.fresh.map((e) => e.id)).toEqual(['a', 'b']);
    expect(first.next).toEqual({
      position: 1200,
      seen: [
        ['a', 1100],
        ['b', 1200],
      ],
    });
    // The next page starts 500 ms before 1200: a and b again, c new, and d committed late with an earlier time.
    const second = advanceCursor(first.next, [ev('a', 1100), ev('d', 1150), ev('b', 1200), ev('c', 1300)], 1300, 500);
    expect(second.fresh.map((e) => e.id)).toEqual(['d', 'c']);
    expect(second.next.position).toBe(1300);
  });

  it('forgets ids that fell out of the look-back window; an empty page keeps the position', () => {
    const next = advanceCursor(
      {
        position: 5000,
        seen: [
          ['old', 4000],
          ['recent', 4900],
        ],
      },
      [],
      null,
      500,
    );
    expect(next).toEqual({ fresh: [], next: { position: 5000, seen: [['recent', 4900]] } });
  });
});
