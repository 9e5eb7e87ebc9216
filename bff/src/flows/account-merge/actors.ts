import { fromPromise } from 'xstate';
import { maskIdentifier, parseEmail, parsePhone } from '../../accounts/identifiers.ts';
import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { ProfileChanges } from '../../ports/upstream-core.ts';
import type { UserTokens } from '../../ports/user-tokens.ts';
import { snapshotOf, type OutboxChange } from '../../upstream-sync/changes.ts';
import type { OutboxStore } from '../../upstream-sync/outbox-store.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import type { MergeAudit } from './audit.ts';
import type { MergeStore } from './merges.ts';
import type { MergePlan, MergeStep, PasswordCheck, PasswordInput, PlannedIdentifier, StepInput } from './account-merge.machine.ts';

export interface AccountMergeEffectDeps {
  directory: IdentityDirectory;
  /** The `user-api` client's password grant: Keycloak checks the other account's password (and counts failures). */
  userTokens: UserTokens;
  partners: Pick<PartnerStore, 'mappingsOf' | 'moveMappings'>;
  outbox: Pick<OutboxStore, 'enqueue'>;
  merges: MergeStore;
  audit: MergeAudit;
  defaultPhoneCountry: string;
}

/** Keycloak's credential type of an authenticator app (TOTP/HOTP). */
const AUTHENTICATOR_APP = 'otp';

const phoneOf = (u: DirectoryUser) => u.attributes.phone?.[0] ?? null;
const phoneProven = (u: DirectoryUser) => u.attributes.phoneVerified?.[0] === 'true';
const mergedInto = (u: DirectoryUser) => u.attributes.mergedInto?.[0] ?? null;

/**
 * The account a typed login names: an e-mail, a phone number (national or international) or a
 * username, exactly; null when none or more than one enabled account answers. Nothing here tells
 * the person which: an unknown login and a wrong password get the same answer.
 */
async function accountOfLogin(deps: AccountMergeEffectDeps, login: string): Promise<DirectoryUser | null> {
  const typed = login.trim();
  let found: DirectoryUser[];
  const email = typed.includes('@') ? parseEmail(typed) : null;
  const phone = !email && /^[+\d][\d\s-]{5,}$/.test(typed) ? parsePhone(typed, deps.defaultPhoneCountry) : null;
  if (email) found = (await deps.directory.findUsersByEmail(email)).filter((u) => u.email?.toLowerCase() === email);
  else if (phone) found = (await deps.directory.findUsersByAttribute('phone', phone)).filter((u) => phoneOf(u) === phone);
  else {
    const user = await deps.directory.findUserByUsername(typed.toLowerCase());
    found = user ? [user] : [];
  }
  const enabled = found.filter((u) => u.enabled);
  if (enabled.length === 1) return enabled[0]!;
  return enabled.length === 0 && found.length === 1 ? found[0]! : null;
}

/**
 * The other account's password, checked by Keycloak itself (its brute-force protection counts a
 * failure against that account, and a temporarily locked account is refused like a wrong password);
 * the session the check opens is ended at once, so proving an account never signs anyone in to it.
 * As in the state claim (decision 0011), an account with an authenticator app needs its code too.
 */
export async function checkPassword(deps: AccountMergeEffectDeps, input: PasswordInput): Promise<PasswordCheck> {
  const other = await accountOfLogin(deps, input.login);
  if (!other) return { outcome: 'invalid' };
  if (!other.enabled) {
    // Merged into this very account before (a retry after the answer was lost): say so. Any other
    // closed account answers as a wrong password: whether it exists is not told.
    return mergedInto(other) === input.userId ? { outcome: 'already-merged' } : { outcome: 'invalid' };
  }
  if (input.otp === null && other.id !== input.userId && (await deps.directory.credentialTypes(other.id)).includes(AUTHENTICATOR_APP)) {
    return { outcome: 'second-factor-required' };
  }
  try {
    const tokens = await deps.userTokens.passwordGrant(other.username, input.password, input.otp ?? undefined);
    await deps.userTokens.endSession(tokens.refreshToken).catch(() => undefined);
  } catch (err) {
    // A pending required action (an e-mail change waiting for its link): the password was right.
    if (!isDomainError(err) || err.code !== 'UNAUTHENTICATED') throw err;
    if (err.details.reason !== 'account_action_required') return { outcome: 'invalid' };
  }
  // Only once the password is proven: the same account is not a second one.
  return other.id === input.userId ? { outcome: 'same-account' } : { outcome: 'valid', otherUserId: other.id };
}

/** What each identifier of the other account becomes (decision 0040, after decision 0021: a proven identifier wins). */
function planIdentifiers(current: DirectoryUser, other: DirectoryUser): PlannedIdentifier[] {
  const out: PlannedIdentifier[] = [];
  const pairs = [
    { kind: 'email' as const, o: other.email ?? null, po: other.emailVerified, c: current.email ?? null, pc: current.emailVerified },
    { kind: 'phone' as const, o: phoneOf(other), po: phoneProven(other), c: phoneOf(current), pc: phoneProven(current) },
  ];
  for (const { kind, o, po, c, pc } of pairs) {
    if (!o) continue;
    const base = { kind, value: o, masked: maskIdentifier({ kind, value: o }), proven: po };
    if (!c) out.push({ ...base, action: 'move' });
    else if (po && !pc) out.push({ ...base, action: 'replace', replaces: c });
    else out.push({ ...base, action: 'retire' });
  }
  return out;
}

export async function planMerge(deps: AccountMergeEffectDeps, userId: string, otherUserId: string): Promise<MergePlan> {
  const [current, other] = await Promise.all([deps.directory.getUser(userId), deps.directory.getUser(otherUserId)]);
  if (!current?.enabled || !other) throw new DomainError('NOT_FOUND', 'An account of the merge is gone');
  const [currentLinks, otherLinks, currentOrgs, otherOrgs, partnerMappings] = await Promise.all([
    deps.directory.federatedIdentitiesOf(userId),
    deps.directory.federatedIdentitiesOf(otherUserId),
    deps.directory.organizationsOf(userId),
    deps.directory.organizationsOf(otherUserId),
    deps.partners.mappingsOf(otherUserId),
  ]);
  const inStateTenant = (aliases: string[]) => aliases.some((a) => a !== CUSTODIAN_TENANT);
  const currentAliases = currentOrgs.map((o) => o.alias);
  const memberships = otherOrgs
    .filter((o) => !currentAliases.includes(o.alias))
    .map((o) => ({
      alias: o.alias,
      name: o.name,
      // Custodian is the tenant of accounts without a state: a state account does not go back into it (decision 0011).
      action: o.alias === CUSTODIAN_TENANT && inStateTenant(currentAliases) ? ('keep' as const) : ('join' as const),
    }));
  const joined = [...currentAliases, ...memberships.filter((m) => m.action === 'join').map((m) => m.alias)];
  return {
    other: {
      username: other.username,
      firstName: other.firstName ?? null,
      lastName: other.lastName ?? null,
      upstreamUserId: other.attributes.upstreamUserId?.[0] ?? null,
    },
    current: { username: current.username, upstreamUserId: current.attributes.upstreamUserId?.[0] ?? null },
    identifiers: planIdentifiers(current, other),
    links: otherLinks.map((l) => ({
      provider: l.provider,
      subject: l.userId,
      username: l.username,
      action: currentLinks.some((c) => c.provider === l.provider && c.userId !== l.userId) ? ('keep' as const) : ('move' as const),
    })),
    partnerMappings,
    memberships,
    leavesCustodian: currentAliases.includes(CUSTODIAN_TENANT) && inStateTenant(joined),
  };
}

const retired = (user: DirectoryUser, ...values: string[]) => {
  const history = user.attributes.retiredIdentifiers ?? [];
  return [...history, ...values.filter((v) => !history.includes(v))];
};

/** Each step, idempotent: it reads the accounts as they are now and does only what is still left. */
async function runStep(deps: AccountMergeEffectDeps, input: StepInput): Promise<string> {
  const { userId, otherUserId, plan } = input;
  const read = async (id: string) => {
    const user = await deps.directory.getUser(id);
    if (!user) throw new DomainError('NOT_FOUND', 'An account of the merge is gone', { details: { reason: 'account_gone' } });
    return user;
  };
  switch (input.step) {
    case 'reserve': {
      const [current, other] = [await read(userId), await read(otherUserId)];
      if (!current.enabled) throw new DomainError('CONFLICT', 'This account is closed', { details: { reason: 'account_closed' } });
      if (!other.enabled && mergedInto(other) !== userId)
        throw new DomainError('CONFLICT', 'That account is closed', { details: { reason: 'already_merged' } });
      await deps.merges.reserve(input.flowId, userId, otherUserId);
      return 'reserved';
    }
    case 'identifiers': {
      // The other account lets go first (an e-mail is unique in the realm), then the current one takes
      // it: the values are in the plan, so a crash in between loses nothing.
      for (const id of plan.identifiers) {
        const other = await read(otherUserId);
        const holds = id.kind === 'email' ? other.email === id.value : phoneOf(other) === id.value;
        if (holds) {
          await deps.directory.updateUser(otherUserId, {
            ...(id.kind === 'email' ? { email: null, emailVerified: false } : {}),
            attributes: { retiredIdentifiers: retired(other, `${id.kind}:${id.value}`), ...(id.kind === 'phone' ? { phone: [], phoneVerified: [] } : {}) },
          });
        }
        if (id.action === 'retire') continue;
        const current = await read(userId);
        const has = id.kind === 'email' ? current.email === id.value : phoneOf(current) === id.value;
        if (has) continue;
        const history: Record<string, string[]> =
          id.action === 'replace' && id.replaces ? { retiredIdentifiers: retired(current, `${id.kind}:${id.replaces}`) } : {};
        await deps.directory.updateUser(
          userId,
          id.kind === 'email'
            ? { email: id.value, emailVerified: id.proven, attributes: history }
            : { attributes: { ...history, phone: [id.value], phoneVerified: [String(id.proven)] } },
        );
      }
      return plan.identifiers.map((i) => `${i.kind}:${i.action}`).join(',') || 'none';
    }
    case 'links': {
      for (const link of plan.links.filter((l) => l.action === 'move')) {
        const linked = await deps.directory.federatedIdentitiesOf(otherUserId);
        // Keycloak links a provider's subject to one account only: the closed account lets go first.
        if (linked.some((l) => l.provider === link.provider && l.userId === link.subject))
          await deps.directory.unlinkFederatedIdentity(otherUserId, link.provider);
        await deps.directory.linkFederatedIdentity(userId, { provider: link.provider, userId: link.subject, username: link.username });
      }
      return plan.links.map((l) => `${l.provider}:${l.action}`).join(',') || 'none';
    }
    case 'partner-mappings': {
      const moved = await deps.partners.moveMappings(otherUserId, userId);
      return `moved ${moved}`;
    }
    case 'memberships': {
      for (const m of plan.memberships.filter((x) => x.action === 'join')) await deps.directory.addToOrganization(userId, m.alias);
      if (plan.leavesCustodian) await deps.directory.removeFromOrganization(userId, CUSTODIAN_TENANT);
      return plan.memberships.map((m) => `${m.alias}:${m.action}`).join(',') || 'none';
    }
    case 'close': {
      // Kept, disabled, with where it went: its history (retiredIdentifiers, the audit) stays.
      await deps.directory.updateUser(otherUserId, { enabled: false, attributes: { mergedInto: [userId] } });
      return 'disabled';
    }
    case 'upstream': {
      // The BFF's own Keycloak writes are not recorded by the outbox (decision 0013): put them in it.
      const told: string[] = [];
      if (plan.other.upstreamUserId) {
        const other = await read(otherUserId);
        const cleared: ProfileChanges = {};
        for (const id of plan.identifiers) cleared[id.kind] = null;
        const changes: OutboxChange[] = [
          ...(Object.keys(cleared).length ? [{ kind: 'profile' as const, changes: cleared }] : []),
          { kind: 'status', active: false },
        ];
        await deps.outbox.enqueue(otherUserId, plan.other.upstreamUserId, snapshotOf(other), changes, `account-merge:${input.flowId}:${otherUserId}`);
        told.push('other');
      }
      const taken = plan.identifiers.filter((i) => i.action !== 'retire');
      if (plan.current.upstreamUserId && taken.length > 0) {
        const current = await read(userId);
        const snapshot = snapshotOf(current);
        const changes: ProfileChanges = {};
        for (const id of taken) changes[id.kind] = snapshot[id.kind];
        await deps.outbox.enqueue(userId, plan.current.upstreamUserId, snapshot, [{ kind: 'profile', changes }], `account-merge:${input.flowId}:${userId}`);
        told.push('current');
      }
      return told.join(',') || 'nothing linked';
    }
    case 'finish': {
      await deps.merges.finish(input.flowId);
      return 'merged';
    }
  }
}

export function accountMergeActors(deps: AccountMergeEffectDeps) {
  return {
    checkPassword: fromPromise<PasswordCheck, PasswordInput>(({ input }) => checkPassword(deps, input)),
    plan: fromPromise<MergePlan, { userId: string; otherUserId: string }>(({ input }) => planMerge(deps, input.userId, input.otherUserId)),
    runStep: fromPromise<void, StepInput>(async ({ input }) => {
      const detail = await runStep(deps, input);
      await deps.audit.record(
        { flowId: input.flowId, event: `step:${input.step}`, outcome: 'ok', userId: input.userId, otherUserId: input.otherUserId, detail },
        { once: input.step satisfies MergeStep },
      );
    }),
  };
}
