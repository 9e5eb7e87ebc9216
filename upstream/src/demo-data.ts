/**
 * Demo data of the reference upstream core: channels, sub-organisations and upstream-only "active
 * members" (seed 000) who can sign in with their core password and be lazily migrated.
 *
 * Idempotent: rows that exist (by id, channel or identifier) are left as they are, so a member who was
 * since linked, edited or deleted in a dev stack is not reset.
 *
 * Run on its own: `node upstream/src/demo-data.ts` with UPSTREAM_DATABASE_URL (and UPSTREAM_SCHEMA).
 *
 * | login (username / email / phone)                         | password      | status   |
 * |----------------------------------------------------------|---------------|----------|
 * | asha.verma / asha.verma@example.com / +919876543210      | Member#2026   | active   |
 * | ravi.kumar / ravi.kumar@example.com / +919812345678      | Member#2026   | active   |
 * | meena.iyer / meena.iyer@example.com / +919800000003      | Member#2026   | inactive |
 *
 * KBA answers are in DEMO_MEMBERS below (answers match case- and space-insensitively).
 */
import type pg from 'pg';
import { applySchema, createPool, withTransaction } from './db.ts';
import { hashSecret, normaliseKbaAnswer } from './secrets.ts';
import { putIdentityRecord } from './store.ts';

export const DEMO_PASSWORD = 'Member#2026';

export const DEMO_ORGANISATIONS = [
  { id: 'org_custodian', name: 'Custodian', channel: 'custodian', rootOrgId: null, status: 'active' },
  { id: 'org_state_demo', name: 'State Demo', channel: 'state-demo', rootOrgId: null, status: 'active' },
  { id: 'org_state_retired', name: 'State Retired', channel: 'state-retired', rootOrgId: null, status: 'inactive' },
  { id: 'org_custodian_learners', name: 'Custodian Learners', channel: null, rootOrgId: 'org_custodian', status: 'active' },
  { id: 'org_state_demo_school_1', name: 'State Demo School 1', channel: null, rootOrgId: 'org_state_demo', status: 'active' },
  { id: 'org_state_demo_school_2', name: 'State Demo School 2 (closed)', channel: null, rootOrgId: 'org_state_demo', status: 'inactive' },
] as const;

export interface DemoMember {
  id: string;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  status: 'active' | 'inactive';
  password: string;
  memberships: { orgId: string; roles: string[] }[];
  kba: { id: string; text: string; answer: string }[];
}

export const DEMO_MEMBERS: readonly DemoMember[] = [
  {
    id: '6f1c2a9e-0000-4000-8000-000000000001',
    username: 'asha.verma',
    firstName: 'Asha',
    lastName: 'Verma',
    email: 'asha.verma@example.com',
    phone: '+919876543210',
    status: 'active',
    password: DEMO_PASSWORD,
    memberships: [
      { orgId: 'org_custodian', roles: ['PUBLIC'] },
      { orgId: 'org_custodian_learners', roles: ['PUBLIC'] },
    ],
    kba: [
      { id: 'first-school', text: 'What was the name of your first school?', answer: 'Kendriya Vidyalaya' },
      { id: 'birth-city', text: 'In which city were you born?', answer: 'Pune' },
      { id: 'first-pet', text: 'What was the name of your first pet?', answer: 'Moti' },
    ],
  },
  {
    id: '6f1c2a9e-0000-4000-8000-000000000002',
    username: 'ravi.kumar',
    firstName: 'Ravi',
    lastName: 'Kumar',
    email: 'ravi.kumar@example.com',
    phone: '+919812345678',
    status: 'active',
    password: DEMO_PASSWORD,
    memberships: [
      { orgId: 'org_state_demo', roles: ['PUBLIC'] },
      { orgId: 'org_state_demo_school_1', roles: ['PUBLIC'] },
    ],
    kba: [
      { id: 'birth-city', text: 'In which city were you born?', answer: 'New Delhi' },
      { id: 'mother-maiden-name', text: "What is your mother's maiden name?", answer: 'Sharma' },
    ],
  },
  {
    id: '6f1c2a9e-0000-4000-8000-000000000003',
    username: 'meena.iyer',
    firstName: 'Meena',
    lastName: 'Iyer',
    email: 'meena.iyer@example.com',
    phone: '+919800000003',
    status: 'inactive',
    password: DEMO_PASSWORD,
    memberships: [{ orgId: 'org_custodian', roles: ['PUBLIC'] }],
    kba: [{ id: 'birth-city', text: 'In which city were you born?', answer: 'Chennai' }],
  },
];

/**
 * People the core can verify by KBA before they are members: the demo partner's customer (seed 003,
 * standard enrollment). Their answers match case- and space-insensitively.
 */
export const DEMO_IDENTITY_RECORDS = [
  {
    id: 'demo-jordan-lee',
    firstName: 'Jordan',
    lastName: 'Lee',
    dob: '1990-04-12',
    ssnLast4: '6789',
    questions: [
      { id: 'previous-street', text: 'On which street did you live in 2015?', answer: 'Maple Avenue' },
      { id: 'car-make', text: 'Which make was the car you financed in 2018?', answer: 'Honda' },
    ],
  },
] as const;

/** Loads the demo rows into the schema `db` is bound to (tables must exist: see `applySchema`). */
export async function loadDemoData(db: pg.Pool): Promise<void> {
  await withTransaction(db, async (tx) => {
    // Roots first: sub-organisations reference them.
    for (const org of DEMO_ORGANISATIONS) {
      await tx.query(
        `INSERT INTO organisations (id, name, channel, root_org_id, status) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING`,
        [org.id, org.name, org.channel, org.rootOrgId, org.status],
      );
    }
  });

  for (const record of DEMO_IDENTITY_RECORDS) {
    const known = await db.query('SELECT 1 FROM identity_records WHERE id = $1', [record.id]);
    if (known.rowCount === 0) await putIdentityRecord(db, record.id, { ...record, questions: [...record.questions] });
  }

  const { rows } = await db.query<{ id: string }>('SELECT id FROM users WHERE id = ANY($1::uuid[])', [DEMO_MEMBERS.map((m) => m.id)]);
  const existing = new Set(rows.map((r) => r.id));
  for (const member of DEMO_MEMBERS.filter((m) => !existing.has(m.id))) {
    const passwordHash = await hashSecret(member.password);
    const answerHashes = await Promise.all(member.kba.map((q) => hashSecret(normaliseKbaAnswer(q.answer))));
    // One transaction per member: a crash never leaves a member without password or questions.
    await withTransaction(db, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO users (id, username, first_name, last_name, email, phone, status, password_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
        [member.id, member.username, member.firstName, member.lastName, member.email, member.phone, member.status, passwordHash],
      );
      if (inserted.rowCount === 0) return; // the id or an identifier is taken: leave that data alone
      for (const m of member.memberships) {
        await tx.query('INSERT INTO memberships (user_id, organisation_id, roles) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [member.id, m.orgId, m.roles]);
      }
      for (const [position, q] of member.kba.entries()) {
        await tx.query('INSERT INTO kba_questions (user_id, question_id, position, text, answer_hash) VALUES ($1, $2, $3, $4, $5)', [
          member.id,
          q.id,
          position,
          q.text,
          answerHashes[position],
        ]);
      }
    });
  }
}

if (import.meta.main) {
  const databaseUrl = process.env.UPSTREAM_DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write('UPSTREAM_DATABASE_URL is required\n');
    process.exit(1);
  }
  const schema = process.env.UPSTREAM_SCHEMA ?? 'upstream_core';
  const pool = createPool(databaseUrl, schema);
  try {
    await applySchema(pool, schema);
    await loadDemoData(pool);
    process.stdout.write(`${JSON.stringify({ msg: 'demo data loaded', schema })}\n`);
  } finally {
    await pool.end();
  }
}
