import { describe, expect, it } from 'vitest';
import { entriesToApply, sameValues, upstreamRoleValues } from './upstream-roles.ts';

describe('upstreamRoleValues', () => {
  it('is <organisationId>:<ROLE> for every role of every membership, sorted and unique', () => {
    expect(
      upstreamRoleValues('active', [
        { organisationId: 'school_1', roles: ['PUBLIC', 'TEACHER'] },
        { organisationId: 'state', roles: ['ORG_ADMIN'] },
        { organisationId: 'school_1', roles: ['PUBLIC'] },
      ]),
    ).toEqual(['school_1:PUBLIC', 'school_1:TEACHER', 'state:ORG_ADMIN']);
    expect(upstreamRoleValues('active', [])).toEqual([]);
  });

  it('is empty unless the member is active', () => {
    const memberships = [{ organisationId: 'state', roles: ['ORG_ADMIN'] }];
    expect(upstreamRoleValues('inactive', memberships)).toEqual([]);
    expect(upstreamRoleValues('deleted', memberships)).toEqual([]);
  });
});

describe('sameValues', () => {
  it('compares as sets: order and repeats aside; absent is empty', () => {
    expect(sameValues(['b:X', 'a:Y'], ['a:Y', 'b:X'])).toBe(true);
    expect(sameValues(['a:Y', 'a:Y'], ['a:Y'])).toBe(true);
    expect(sameValues(undefined, [])).toBe(true);
    expect(sameValues(undefined, ['a:Y'])).toBe(false);
    expect(sameValues(['a:Y', 'b:X'], ['a:Y'])).toBe(false);
    expect(sameValues(['a:Y'], ['a:Z'])).toBe(false);
  });
});

describe('entriesToApply', () => {
  it("applies each member's first entry of a page and skips the later ones, keeping every seq in order", () => {
    const page = [
      { seq: 1, userId: 'u1', externalId: 'k1' },
      { seq: 2, userId: 'u2', externalId: null },
      { seq: 3, userId: 'u1', externalId: 'k1' },
      { seq: 4, userId: 'u3', externalId: 'k3' },
    ];
    expect(entriesToApply(page).map((e) => [e.change.seq, e.skip])).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, false],
    ]);
  });
});
