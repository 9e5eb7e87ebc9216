import type pg from 'pg';
import { isPgError, UNIQUE_VIOLATION, withTransaction, type Queryable } from './db.ts';
import { notFound, Problem, type ProblemField } from './problem.ts';
import type { CreateUserBody, ProfileChangesBody } from './schemas.ts';
import { E164 } from './schemas.ts';
import { burnVerification, classifyLogin, hashSecret, normaliseKbaAnswer, verifySecret } from './secrets.ts';

/** JSON shapes of the contract (`upstream/openapi.yaml`, components.schemas). */
export interface UserJson {
  id: string;
  externalId: string | null;
  username: string | null;
  firstName: string;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  status: 'active' | 'inactive' | 'deleted';
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface OrganisationJson {
  id: string;
  name: string;
  isRootOrg: boolean;
  rootOrgId: string;
  channel: string;
  status: 'active' | 'inactive';
}

export interface MembershipJson {
  userId: string;
  organisationId: string;
  rootOrgId: string;
  roles: string[];
  createdAt: string;
  updatedAt: string;
}

// ---------------------------------------------------------------------------------------------- users

const USER_COLUMNS = `id, external_id, username, first_name, last_name, email, phone, status,
  password_hash IS NOT NULL AS has_password, created_at, updated_at`;
/** USER_COLUMNS of the table aliased `alias` (an UPDATE ... FROM that also returns another row's columns). */
const qualified = (alias: string): string =>
  `${alias}.id, ${alias}.external_id, ${alias}.username, ${alias}.first_name, ${alias}.last_name, ${alias}.email, ${alias}.phone, ${alias}.status,
  ${alias}.password_hash IS NOT NULL AS has_password, ${alias}.created_at, ${alias}.updated_at`;

interface UserRow {
  id: string;
  external_id: string | null;
  username: string | null;
  first_name: string;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  status: UserJson['status'];
  has_password: boolean;
  created_at: Date;
  updated_at: Date;
}

const toUser = (r: UserRow): UserJson => ({
  id: r.id,
  externalId: r.external_id,
  username: r.username,
  firstName: r.first_name,
  lastName: r.last_name,
  email: r.email,
  phone: r.phone,
  status: r.status,
  hasPassword: r.has_password,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export async function getUser(db: Queryable, id: string): Promise<UserJson | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function getUserByExternalId(db: Queryable, externalId: string): Promise<UserJson | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE external_id = $1`, [externalId]);
  return rows[0] ? toUser(rows[0]) : null;
}

/** Loads a user that must exist and must not be deleted (for changes). */
async function requireLiveUser(db: Queryable, id: string): Promise<UserJson> {
  const user = await getUser(db, id);
  if (!user) throw notFound('user');
  if (user.status === 'deleted') throw new Problem('USER_DELETED', 'the user is deleted');
  return user;
}

type Identifiers = { username?: string | null; email?: string | null; phone?: string | null };

/** Which of these identifiers another live user holds: the fields of an IDENTIFIER_TAKEN problem. */
async function takenIdentifiers(db: Queryable, ids: Identifiers, exceptUserId: string | null): Promise<ProblemField[]> {
  const { rows } = await db.query<{ username: string | null; email: string | null; phone: string | null }>(
    `SELECT username, email, phone FROM users
      WHERE status <> 'deleted' AND ($4::uuid IS NULL OR id <> $4)
        AND (username = $1 OR email = $2 OR phone = $3)`,
    [ids.username ?? null, ids.email ?? null, ids.phone ?? null, exceptUserId],
  );
  const fields: ProblemField[] = [];
  for (const key of ['username', 'email', 'phone'] as const) {
    const wanted = ids[key];
    if (wanted != null && rows.some((r) => r[key] === wanted)) {
      fields.push({ field: key, reason: 'taken', message: `this ${key} belongs to another user` });
    }
  }
  return fields;
}

function identifierTaken(fields: ProblemField[]): Problem {
  return new Problem('IDENTIFIER_TAKEN', 'an identifier belongs to another user', fields);
}

function sameContent(user: UserJson, input: CreateUserBody): boolean {
  return (
    user.firstName === input.firstName &&
    user.lastName === (input.lastName ?? null) &&
    user.username === (input.username ?? null) &&
    user.email === (input.email ?? null) &&
    user.phone === (input.phone ?? null)
  );
}

/**
 * Idempotent on externalId. The unique constraint on external_id, not a prior SELECT, decides who
 * wins a race: ON CONFLICT DO NOTHING makes every loser fall through to the comparison.
 */
export async function createUser(db: Queryable, input: CreateUserBody): Promise<{ user: UserJson; created: boolean }> {
  const replay = async (): Promise<{ user: UserJson; created: boolean } | null> => {
    const existing = await getUserByExternalId(db, input.externalId);
    if (!existing) return null;
    if (!sameContent(existing, input)) {
      throw new Problem('EXTERNAL_ID_CONFLICT', 'a user with this externalId exists with different content', [
        { field: 'externalId', reason: 'conflict', message: 'already used for a user with different content' },
      ]);
    }
    return { user: existing, created: false };
  };

  try {
    const { rows } = await db.query<UserRow>(
      `INSERT INTO users (external_id, first_name, last_name, username, email, phone)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (external_id) DO NOTHING
       RETURNING ${USER_COLUMNS}`,
      [input.externalId, input.firstName, input.lastName ?? null, input.username ?? null, input.email ?? null, input.phone ?? null],
    );
    if (rows[0]) return { user: toUser(rows[0]), created: true };
  } catch (error) {
    // A concurrent twin can trip the username/email/phone index before the external_id arbiter;
    // it is then a replay, not a taken identifier.
    if (!isPgError(error, UNIQUE_VIOLATION)) throw error;
    const replayed = await replay();
    if (replayed) return replayed;
    throw identifierTaken(await takenIdentifiers(db, input, null));
  }
  const replayed = await replay();
  if (replayed) return replayed;
  // Conflict on external_id, but the row is gone: cannot happen without hard deletes.
  throw new Error('createUser: conflicting row vanished');
}

export async function searchUsers(db: Queryable, by: { username: string } | { email: string } | { phone: string }): Promise<UserJson[]> {
  const [column, value] = 'username' in by ? ['username', by.username] : 'email' in by ? ['email', by.email] : ['phone', by.phone];
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE ${column} = $1 AND status <> 'deleted' ORDER BY created_at`, [value]);
  return rows.map(toUser);
}

/** Changes only the fields present; `null` clears an optional one. */
export async function updateProfile(db: Queryable, id: string, changes: ProfileChangesBody): Promise<UserJson> {
  const columns: Record<keyof ProfileChangesBody, string> = {
    firstName: 'first_name',
    lastName: 'last_name',
    username: 'username',
    email: 'email',
    phone: 'phone',
  };
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const key of Object.keys(columns) as (keyof ProfileChangesBody)[]) {
    if (changes[key] === undefined) continue;
    values.push(changes[key]);
    sets.push(`${columns[key]} = $${values.length}`);
  }
  try {
    const { rows } = await db.query<UserRow>(
      `UPDATE users SET ${sets.join(', ')}, updated_at = now()
        WHERE id = $1 AND status <> 'deleted' RETURNING ${USER_COLUMNS}`,
      values,
    );
    if (rows[0]) return toUser(rows[0]);
  } catch (error) {
    if (!isPgError(error, UNIQUE_VIOLATION)) throw error;
    throw identifierTaken(await takenIdentifiers(db, changes, id));
  }
  await requireLiveUser(db, id); // throws NOT_FOUND or USER_DELETED
  throw new Error('updateProfile: live user not updated');
}

/**
 * Sets a user's externalId when it has none or already this one; a different one only when the caller
 * names it in `replaces` (compare-and-set: the platform found that value pointing to no account, and a
 * concurrent change of it makes this a 409 instead of a lost update).
 */
export async function linkExternalId(db: Queryable, id: string, externalId: string, replaces?: string): Promise<UserJson> {
  try {
    // The FROM row is the one before the update: whether the link changed (a change of the feed).
    const { rows } = await db.query<UserRow & { previous: string | null }>(
      `UPDATE users u SET external_id = $2, updated_at = CASE WHEN u.external_id = $2 THEN u.updated_at ELSE now() END
         FROM (SELECT id, external_id AS previous FROM users WHERE id = $1 FOR UPDATE) before
        WHERE u.id = before.id AND u.status <> 'deleted' AND (u.external_id IS NULL OR u.external_id = $2 OR u.external_id = $3)
        RETURNING ${qualified('u')}, before.previous`,
      [id, externalId, replaces ?? null],
    );
    if (rows[0]) {
      if (rows[0].previous !== externalId) await recordMembershipChange(db, id);
      return toUser(rows[0]);
    }
  } catch (error) {
    if (!isPgError(error, UNIQUE_VIOLATION)) throw error;
    throw new Problem('EXTERNAL_ID_CONFLICT', 'another user has this externalId', [
      { field: 'externalId', reason: 'taken', message: 'linked to another user' },
    ]);
  }
  await requireLiveUser(db, id);
  throw new Problem('EXTERNAL_ID_CONFLICT', 'the user is linked to a different externalId', [
    { field: 'externalId', reason: 'conflict', message: 'the user already has another externalId' },
  ]);
}

export async function setStatus(db: Queryable, id: string, status: 'active' | 'inactive'): Promise<UserJson> {
  const { rows } = await db.query<UserRow & { previous: string }>(
    `UPDATE users u SET status = $2, updated_at = CASE WHEN u.status = $2 THEN u.updated_at ELSE now() END
       FROM (SELECT id, status AS previous FROM users WHERE id = $1 FOR UPDATE) before
      WHERE u.id = before.id AND u.status <> 'deleted' RETURNING ${qualified('u')}, before.previous`,
    [id, status],
  );
  if (rows[0]) {
    // Only an active member's roles reach the platform's tokens: a status change is a change of the feed.
    if (rows[0].previous !== status) await recordMembershipChange(db, id);
    return toUser(rows[0]);
  }
  await requireLiveUser(db, id);
  throw new Error('setStatus: live user not updated');
}

/** Soft delete; deleting a deleted user changes nothing. */
export async function deleteUser(db: Queryable, id: string): Promise<void> {
  const { rowCount } = await db.query(`UPDATE users SET status = 'deleted', updated_at = now() WHERE id = $1 AND status <> 'deleted'`, [id]);
  if (rowCount === 0 && !(await getUser(db, id))) throw notFound('user');
  if (rowCount !== 0) await recordMembershipChange(db, id);
}

// ------------------------------------------------------------------------------------ organisations

interface OrgRow {
  id: string;
  name: string;
  is_root: boolean;
  root_id: string;
  channel: string;
  status: OrganisationJson['status'];
}

const ORG_SELECT = `SELECT o.id, o.name, o.root_org_id IS NULL AS is_root, COALESCE(o.root_org_id, o.id) AS root_id,
    COALESCE(o.channel, r.channel) AS channel, o.status
  FROM organisations o LEFT JOIN organisations r ON r.id = o.root_org_id`;

const toOrg = (r: OrgRow): OrganisationJson => ({
  id: r.id,
  name: r.name,
  isRootOrg: r.is_root,
  rootOrgId: r.root_id,
  channel: r.channel,
  status: r.status,
});

export async function getRootOrgByChannel(db: Queryable, channel: string): Promise<OrganisationJson | null> {
  const { rows } = await db.query<OrgRow>(`${ORG_SELECT} WHERE o.channel = $1`, [channel]);
  return rows[0] ? toOrg(rows[0]) : null;
}

export async function getOrganisation(db: Queryable, id: string): Promise<(OrganisationJson & { rootOrg: OrganisationJson }) | null> {
  const { rows } = await db.query<OrgRow>(`${ORG_SELECT} WHERE o.id = $1`, [id]);
  if (!rows[0]) return null;
  const org = toOrg(rows[0]);
  if (org.isRootOrg) return { ...org, rootOrg: org };
  const { rows: roots } = await db.query<OrgRow>(`${ORG_SELECT} WHERE o.id = $1`, [org.rootOrgId]);
  if (!roots[0]) throw new Error('getOrganisation: root organisation missing');
  return { ...org, rootOrg: toOrg(roots[0]) };
}

// -------------------------------------------------------------------------------------- memberships

interface MembershipRow {
  user_id: string;
  organisation_id: string;
  root_id: string;
  roles: string[];
  created_at: Date;
  updated_at: Date;
}

const toMembership = (r: MembershipRow): MembershipJson => ({
  userId: r.user_id,
  organisationId: r.organisation_id,
  rootOrgId: r.root_id,
  roles: r.roles,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export async function listMemberships(db: Queryable, userId: string): Promise<MembershipJson[]> {
  if (!(await getUser(db, userId))) throw notFound('user');
  const { rows } = await db.query<MembershipRow>(
    `SELECT m.user_id, m.organisation_id, COALESCE(o.root_org_id, o.id) AS root_id, m.roles, m.created_at, m.updated_at
       FROM memberships m JOIN organisations o ON o.id = m.organisation_id
      WHERE m.user_id = $1 ORDER BY m.created_at, m.organisation_id`,
    [userId],
  );
  return rows.map(toMembership);
}

/** Creates the membership or sets its roles; the same request twice leaves one unchanged row. */
export async function putMembership(db: Queryable, userId: string, orgId: string, roles: string[]): Promise<{ membership: MembershipJson; created: boolean }> {
  await requireLiveUser(db, userId);
  const org = await getOrganisation(db, orgId);
  if (!org) throw notFound('organisation');
  if (org.status !== 'active' || org.rootOrg.status !== 'active') {
    throw new Problem('ORGANISATION_INACTIVE', 'the organisation or its root organisation is inactive', [
      { field: 'orgId', reason: 'inactive', message: 'organisation is inactive' },
    ]);
  }
  const sorted = [...roles].sort();
  const { rows: before } = await db.query<{ roles: string[] }>('SELECT roles FROM memberships WHERE user_id = $1 AND organisation_id = $2 FOR UPDATE', [
    userId,
    orgId,
  ]);
  // xmax = 0 only on a freshly inserted row: tells a create from an update in one statement.
  const { rows } = await db.query<MembershipRow & { inserted: boolean }>(
    `INSERT INTO memberships AS m (user_id, organisation_id, roles) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, organisation_id) DO UPDATE
       SET roles = EXCLUDED.roles,
           updated_at = CASE WHEN m.roles = EXCLUDED.roles THEN m.updated_at ELSE now() END
     RETURNING m.user_id, m.organisation_id, $4::text AS root_id, m.roles, m.created_at, m.updated_at, (xmax = 0) AS inserted`,
    [userId, orgId, sorted, org.rootOrgId],
  );
  const row = rows[0];
  if (!row) throw new Error('putMembership: no row returned');
  // The same roles again change nothing, and are no change of the feed either.
  if (before[0]?.roles.join(',') !== sorted.join(',')) await recordMembershipChange(db, userId);
  return { membership: toMembership(row), created: row.inserted };
}

export async function deleteMembership(db: Queryable, userId: string, orgId: string): Promise<void> {
  if (!(await getUser(db, userId))) throw notFound('user');
  const { rowCount } = await db.query('DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2', [userId, orgId]);
  if (rowCount !== 0) await recordMembershipChange(db, userId);
}

// ------------------------------------------------------------------------------------ change feed

export interface MembershipChangeJson {
  seq: number;
  userId: string;
  externalId: string | null;
  changedAt: string;
}

/** Feed rows are serialised by this lock (see schema.sql): a constant, like the schema's lock name. */
const FEED_LOCK = 'upstream-core:membership-changes';

/**
 * Appends a row to the change feed for this user; call it inside the transaction of the change. The
 * advisory lock, held to commit, makes feed rows commit in `seq` order (a bigserial alone does not: a
 * later seq could commit first, and a reader past it would never see the earlier one).
 */
async function recordMembershipChange(db: Queryable, userId: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [FEED_LOCK]);
  await db.query('INSERT INTO membership_changes (user_id, external_id) SELECT id, external_id FROM users WHERE id = $1', [userId]);
}

/** Changes after `after`, oldest first, at most `limit`; `next` is the `after` of the following page. */
export async function listMembershipChanges(db: Queryable, after: number, limit: number): Promise<{ changes: MembershipChangeJson[]; next: number }> {
  const { rows } = await db.query<{ seq: string; user_id: string; external_id: string | null; changed_at: Date }>(
    'SELECT seq, user_id, external_id, changed_at FROM membership_changes WHERE seq > $1 ORDER BY seq LIMIT $2',
    [after, limit],
  );
  const changes = rows.map((r) => ({ seq: Number(r.seq), userId: r.user_id, externalId: r.external_id, changedAt: r.changed_at.toISOString() }));
  return { changes, next: changes.at(-1)?.seq ?? after };
}

// -------------------------------------------------------------------------------------- credentials

export async function setPassword(db: Queryable, userId: string, password: string): Promise<void> {
  const hash = await hashSecret(password);
  const { rowCount } = await db.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 AND status <> 'deleted'`, [userId, hash]);
  if (rowCount === 0) await requireLiveUser(db, userId);
}

/**
 * Every failure that is not "right password, inactive user" is the same INVALID_CREDENTIALS after
 * the same amount of hashing, so neither the answer nor its timing tells which logins exist.
 */
export async function verifyPassword(db: Queryable, login: string, password: string): Promise<UserJson> {
  const parsed = classifyLogin(login);
  const [column, value] = parsed.kind === 'email' ? ['email', parsed.email] : parsed.kind === 'phone' ? ['phone', parsed.phone] : ['username', parsed.username];
  const rows =
    parsed.kind === 'phone' && !E164.test(parsed.phone)
      ? []
      : (
          await db.query<UserRow & { password_hash: string | null }>(
            `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE ${column} = $1 AND status <> 'deleted'`,
            [value],
          )
        ).rows;
  const row = rows[0];
  const ok = row?.password_hash ? await verifySecret(password, row.password_hash) : await burnVerification(password);
  if (!row || !ok) throw new Problem('INVALID_CREDENTIALS', 'invalid login or password');
  if (row.status !== 'active') throw new Problem('USER_NOT_ACTIVE_LOGIN', 'the user is not active');
  return toUser(row);
}

export interface KbaQuestionJson {
  id: string;
  text: string;
}

export async function setKbaQuestions(pool: pg.Pool, userId: string, questions: { id: string; text: string; answer: string }[]): Promise<KbaQuestionJson[]> {
  // Hash outside the transaction: scrypt is slow and needs no lock.
  const hashed = await Promise.all(questions.map(async (q, position) => ({ ...q, position, hash: await hashSecret(normaliseKbaAnswer(q.answer)) })));
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ status: string }>('SELECT status FROM users WHERE id = $1 FOR UPDATE', [userId]);
    if (!rows[0]) throw notFound('user');
    if (rows[0].status === 'deleted') throw new Problem('USER_DELETED', 'the user is deleted');
    await tx.query('DELETE FROM kba_questions WHERE user_id = $1', [userId]);
    for (const q of hashed) {
      await tx.query('INSERT INTO kba_questions (user_id, question_id, position, text, answer_hash) VALUES ($1, $2, $3, $4, $5)', [
        userId,
        q.id,
        q.position,
        q.text,
        q.hash,
      ]);
    }
    return hashed.map((q) => ({ id: q.id, text: q.text }));
  });
}

export async function getKbaQuestions(db: Queryable, userId: string): Promise<KbaQuestionJson[]> {
  if (!(await getUser(db, userId))) throw notFound('user');
  const { rows } = await db.query<KbaQuestionJson>('SELECT question_id AS id, text FROM kba_questions WHERE user_id = $1 ORDER BY position', [userId]);
  return rows;
}

/** `ok` only when every question is answered right. Bad input (unknown, repeated, missing ids) is a 400. */
export async function verifyKbaAnswers(db: Queryable, userId: string, answers: { questionId: string; answer: string }[]): Promise<'ok' | 'failed'> {
  const user = await getUser(db, userId);
  if (!user) throw notFound('user');
  if (user.status !== 'active') throw new Problem('USER_NOT_ACTIVE', 'the user is not active');
  const { rows } = await db.query<{ question_id: string; answer_hash: string }>(
    'SELECT question_id, answer_hash FROM kba_questions WHERE user_id = $1 ORDER BY position',
    [userId],
  );
  if (rows.length === 0) throw new Problem('KBA_NOT_SET', 'the user has no KBA questions');

  const stored = new Map(rows.map((r) => [r.question_id, r.answer_hash]));
  const fields: ProblemField[] = [];
  const seen = new Set<string>();
  answers.forEach((a, i) => {
    if (!stored.has(a.questionId)) fields.push({ field: `answers.${i}.questionId`, reason: 'unknown', message: 'not a question of this user' });
    else if (seen.has(a.questionId)) fields.push({ field: `answers.${i}.questionId`, reason: 'duplicate', message: 'answered twice' });
    seen.add(a.questionId);
  });
  const missing = rows.filter((r) => !seen.has(r.question_id)).map((r) => r.question_id);
  if (missing.length > 0) fields.push({ field: 'answers', reason: 'missing', message: `unanswered questions: ${missing.join(', ')}` });
  if (fields.length > 0) throw new Problem('VALIDATION_FAILED', 'the answers do not match the questions', fields);

  // Check every answer (no early exit), so timing does not tell how many were right.
  const results = await Promise.all(answers.map((a) => verifySecret(normaliseKbaAnswer(a.answer), stored.get(a.questionId) ?? '')));
  return results.every(Boolean) ? 'ok' : 'failed';
}

// ------------------------------------------------------------------ identity verification (KBA)

/** Answer sets one verification accepts before it closes as failed. */
export const VERIFICATION_MAX_ATTEMPTS = 3;
const VERIFICATION_TTL_MINUTES = 30;

export interface VerificationJson {
  id: string;
  questions: KbaQuestionJson[];
  expiresAt: string;
}

export async function putIdentityRecord(
  pool: pg.Pool,
  id: string,
  record: { firstName: string; lastName: string; dob: string; ssnLast4?: string | null | undefined; questions: { id: string; text: string; answer: string }[] },
): Promise<{ id: string; questions: KbaQuestionJson[] }> {
  const hashed = await Promise.all(record.questions.map(async (q, position) => ({ ...q, position, hash: await hashSecret(normaliseKbaAnswer(q.answer)) })));
  return withTransaction(pool, async (tx) => {
    await tx.query(
      `INSERT INTO identity_records (id, first_name, last_name, dob, ssn_last4) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET first_name = $2, last_name = $3, dob = $4, ssn_last4 = $5`,
      [id, record.firstName, record.lastName, record.dob, record.ssnLast4 ?? null],
    );
    await tx.query('DELETE FROM identity_record_questions WHERE record_id = $1', [id]);
    for (const q of hashed) {
      await tx.query('INSERT INTO identity_record_questions (record_id, question_id, position, text, answer_hash) VALUES ($1, $2, $3, $4, $5)', [
        id,
        q.id,
        q.position,
        q.text,
        q.hash,
      ]);
    }
    return { id, questions: hashed.map((q) => ({ id: q.id, text: q.text })) };
  });
}

/**
 * A verification session for the person described, with that person's questions; null when the
 * core knows no such person (names case-insensitively, date of birth, and the SSN's last four digits
 * when both sides have them).
 */
export async function startVerification(
  db: Queryable,
  person: { firstName: string; lastName: string; dob: string; ssn?: string | null | undefined },
): Promise<VerificationJson | null> {
  const last4 = person.ssn ? person.ssn.replace(/\D/g, '').slice(-4) : null;
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM identity_records
      WHERE lower(first_name) = lower($1) AND lower(last_name) = lower($2) AND dob = $3
        AND ($4::text IS NULL OR ssn_last4 IS NULL OR ssn_last4 = $4)
      ORDER BY id LIMIT 1`,
    [person.firstName, person.lastName, person.dob, last4],
  );
  const recordId = rows[0]?.id;
  if (!recordId) return null;
  const { rows: questions } = await db.query<{ question_id: string; text: string }>(
    'SELECT question_id, text FROM identity_record_questions WHERE record_id = $1 ORDER BY position',
    [recordId],
  );
  if (questions.length === 0) return null;
  const { rows: created } = await db.query<{ id: string; expires_at: Date }>(
    `INSERT INTO identity_verifications (record_id, expires_at) VALUES ($1, now() + interval '${VERIFICATION_TTL_MINUTES} minutes') RETURNING id, expires_at`,
    [recordId],
  );
  return { id: created[0]!.id, questions: questions.map((q) => ({ id: q.question_id, text: q.text })), expiresAt: created[0]!.expires_at.toISOString() };
}

/** Checks one answer set; a passed or exhausted verification is closed (VERIFICATION_CLOSED). */
export async function answerVerification(
  pool: pg.Pool,
  id: string,
  answers: { questionId: string; answer: string }[],
): Promise<{ result: 'passed' | 'failed'; attemptsLeft: number }> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ record_id: string; attempts: number; status: string }>(
      'SELECT record_id, attempts, status FROM identity_verifications WHERE id = $1 AND expires_at > now() FOR UPDATE',
      [id],
    );
    const v = rows[0];
    if (!v) throw notFound('verification');
    if (v.status !== 'pending') throw new Problem('VERIFICATION_CLOSED', 'this verification is closed');
    const { rows: stored } = await tx.query<{ question_id: string; answer_hash: string }>(
      'SELECT question_id, answer_hash FROM identity_record_questions WHERE record_id = $1 ORDER BY position',
      [v.record_id],
    );
    const hashes = new Map(stored.map((r) => [r.question_id, r.answer_hash]));
    const fields: ProblemField[] = [];
    const seen = new Set<string>();
    answers.forEach((a, i) => {
      if (!hashes.has(a.questionId)) fields.push({ field: `answers.${i}.questionId`, reason: 'unknown', message: 'not a question of this verification' });
      else if (seen.has(a.questionId)) fields.push({ field: `answers.${i}.questionId`, reason: 'duplicate', message: 'answered twice' });
      seen.add(a.questionId);
    });
    const missing = stored.filter((r) => !seen.has(r.question_id)).map((r) => r.question_id);
    if (missing.length > 0) fields.push({ field: 'answers', reason: 'missing', message: `unanswered questions: ${missing.join(', ')}` });
    if (fields.length > 0) throw new Problem('VALIDATION_FAILED', 'the answers do not match the questions', fields);
    // Every answer is checked (no early exit), so timing does not tell how many were right.
    const results = await Promise.all(answers.map((a) => verifySecret(normaliseKbaAnswer(a.answer), hashes.get(a.questionId) ?? '')));
    const passed = results.every(Boolean);
    const attempts = v.attempts + 1;
    const status = passed ? 'passed' : attempts >= VERIFICATION_MAX_ATTEMPTS ? 'failed' : 'pending';
    await tx.query('UPDATE identity_verifications SET attempts = $2, status = $3 WHERE id = $1', [id, attempts, status]);
    return { result: passed ? 'passed' : 'failed', attemptsLeft: passed ? 0 : VERIFICATION_MAX_ATTEMPTS - attempts };
  });
}

// ------------------------------------------------------------------------------------ idempotency

/**
 * Applies a user change once per Idempotency-Key: the first request runs `apply` and records its
 * answer in the same transaction; a repeat (also one racing the first: the advisory lock serialises
 * them) gets the recorded answer and changes nothing. A refused change is not recorded, so the same
 * key can succeed later (e.g. once an identifier is free again).
 */
export async function applyOnce(
  pool: pg.Pool,
  key: string,
  operation: string,
  userId: string,
  apply: (tx: Queryable) => Promise<UserJson>,
): Promise<{ user: UserJson; replayed: boolean }> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
    const { rows } = await tx.query<{ operation: string; user_id: string; response: UserJson }>(
      'SELECT operation, user_id, response FROM applied_changes WHERE idempotency_key = $1',
      [key],
    );
    const recorded = rows[0];
    if (recorded) {
      if (recorded.operation !== operation || recorded.user_id !== userId) {
        throw new Problem('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different change');
      }
      return { user: recorded.response, replayed: true };
    }
    const user = await apply(statementSavepoints(tx));
    await tx.query('INSERT INTO applied_changes (idempotency_key, operation, user_id, response) VALUES ($1, $2, $3, $4)', [
      key,
      operation,
      userId,
      JSON.stringify(user),
    ]);
    return { user, replayed: false };
  });
}

/**
 * The transaction with a savepoint around each statement: a statement that fails (a unique
 * violation the store then explains with another query) does not abort the whole transaction.
 */
export function statementSavepoints(tx: pg.PoolClient): Queryable {
  const query = async (...args: unknown[]) => {
    await tx.query('SAVEPOINT statement');
    try {
      const result = await (tx.query as (...a: unknown[]) => Promise<unknown>)(...args);
      await tx.query('RELEASE SAVEPOINT statement');
      return result;
    } catch (error) {
      await tx.query('ROLLBACK TO SAVEPOINT statement');
      throw error;
    }
  };
  return { query } as unknown as Queryable;
}
