import { createActor, waitFor, type Actor, type AnyMachineSnapshot, type AnyStateMachine, type Snapshot, type SnapshotFrom } from 'xstate';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { DomainError } from '../../kernel/errors.ts';
import { isAtRest } from '../../kernel/flow/index.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import { AuthTokenStore, newAuthToken, tokenIdOf, type AuthTokenRecord } from './auth-token-store.ts';
import { piiAad } from './enroll-user.ts';
import type { KbaStart, KbaStartLimits } from './kba-starts.ts';
import {
  PARTNER_ENROLLMENT_MACHINE_VERSION,
  type PartnerEnrollmentEvent,
  type PartnerEnrollmentMachine,
} from './partner-enrollment.machine.ts';
import { AUTH_TOKEN, type AuthRequest, type Pii } from './schemas.ts';

export type EnrollmentSnapshot = SnapshotFrom<PartnerEnrollmentMachine>;

export interface EnrollmentServiceDeps {
  /** The machine with its effects provided (composition root). */
  machine: PartnerEnrollmentMachine;
  tokens: AuthTokenStore;
  partners: PartnerStore;
  encryption: FieldEncryption;
  ttlSeconds: number;
  kbaMaxAttempts: number;
  /** KBA starts one authToken allows (PARTNER_KBA_STARTS_PER_TOKEN). */
  kbaMaxStarts: number;
  /** The per-partner limit and the audit of KBA starts. */
  kbaStarts: KbaStartLimits;
  /** Longest a step may take, effects included (waiting for a concurrent enrollment too). */
  settleTimeoutMs?: number;
}

/** A flow come to rest after an event; `persisted` is null when it has ended. */
interface Settled {
  snapshot: EnrollmentSnapshot;
  persisted: Snapshot<unknown> | null;
}

const notFound = () => new DomainError('NOT_FOUND', 'Unknown or expired authToken');

/**
 * Runs the enrollment machine of each authToken: restore from the token's record, send one typed event
 * built by the route, wait until it rests, then save the snapshot, or delete the record when the
 * flow has ended (the PII goes with it). Nothing stays in memory between requests.
 */
export class PartnerEnrollmentService {
  readonly #deps: EnrollmentServiceDeps;
  readonly #settleTimeoutMs: number;

  constructor(deps: EnrollmentServiceDeps) {
    this.#deps = deps;
    this.#settleTimeoutMs = deps.settleTimeoutMs ?? 30_000;
  }

  /**
   * POST /api/auth/v1: the appKey must belong to the server token's client; the machine decides; the
   * new authToken is stored unless the settings conflict. 200 for an enrolled user, 201 otherwise.
   */
  async authorize(clientId: string, request: AuthRequest): Promise<{ status: 200 | 201; authToken: string; expiresAt: Date }> {
    const resolution = await this.#deps.partners.resolve(request.appKey, request.dbpUserId);
    // An unknown appKey and another partner's appKey look the same to the caller.
    if (!resolution || resolution.clientId !== clientId || !resolution.clientEnabled) {
      throw new DomainError('FORBIDDEN', 'This server token may not use this appKey', { fields: [{ field: 'appKey', reason: 'not_allowed', message: 'Not an appKey of this partner' }] });
    }
    const authToken = newAuthToken();
    const tokenId = tokenIdOf(authToken);
    const expiresAt = Date.now() + this.#deps.ttlSeconds * 1000;
    const input = {
      tokenId,
      subject: { appKey: request.appKey, dbpUserId: request.dbpUserId, clientId },
      settings: { autoEnroll: resolution.autoEnroll, kbaBypass: resolution.kbaBypass, trustAuth: resolution.trustAuth },
      userId: resolution.userId,
      // Data minimisation, and the enrolled POST is the hot one: nothing after it needs the PII.
      pii: resolution.userId ? null : this.sealPii(tokenId, request.pii),
      kbaMaxAttempts: this.#deps.kbaMaxAttempts,
      kbaMaxStarts: this.#deps.kbaMaxStarts,
    };
    // Most decisions need no effect (enrolled, consent, KBA, conflict): the actor's initial snapshot
    // already rests, so it is never started; that saves most of the POST's own cost. Enrolling at once
    // starts it. (XState's initialTransition would build the initial state twice, once without input.)
    const actor = createActor(this.#deps.machine, { input });
    const first = actor.getSnapshot();
    const { snapshot, persisted } = isAtRest(first)
      ? { snapshot: first, persisted: actor.getPersistedSnapshot() }
      : await this.#runToRest(actor, () => undefined);
    if (snapshot.matches('conflict')) {
      throw new DomainError('PARTNER_SETTINGS_CONFLICT', 'autoEnroll is on for this appKey, but the partner is neither trusted (trustAuth) nor allowed consent-based enrollment (kbaBypass)');
    }
    // Not null: the only end a POST can reach is the conflict above.
    await this.#deps.tokens.save(tokenId, { machineVersion: PARTNER_ENROLLMENT_MACHINE_VERSION, expiresAt, snapshot: persisted! });
    return { status: resolution.userId ? 200 : 201, authToken, expiresAt: new Date(expiresAt) };
  }

  /**
   * One step: `choose` sees the flow as it rests and names the event to send, or null to only look
   * (nothing runs). The event must be possible in the current state (404 otherwise, as the contract
   * wants for a PATCH on a token that does not await consent). Concurrent steps on one token: the
   * second is a CONFLICT. A failed effect leaves the record as it was, so the step can be retried.
   */
  async step(authToken: string, choose: (current: EnrollmentSnapshot) => PartnerEnrollmentEvent | null): Promise<EnrollmentSnapshot> {
    return this.#locked(this.#tokenId(authToken), async (actor) => {
      const event = choose(actor.getSnapshot());
      if (event === null) return null;
      if (!actor.getSnapshot().can(event)) throw notFound();
      return this.#runToRest(actor, () => actor.send(event));
    });
  }

  /**
   * POST …/kba: a KBA start, limited and audited (issue 14 §3). Checked in this order, so that a
   * refused start has not asked the upstream core anything: the token awaits enrollment or answers
   * (404 otherwise), the token has starts left, the partner has starts left this hour (429 for
   * either); then the machine takes the start (counting it down) and asks the core. The audit row is
   * written before the flow is saved: a start nobody could audit is not kept. An upstream failure
   * saves nothing (the token's start is not used up; the partner's is) and is audited as `failed`.
   */
  async startKba(authToken: string, pii: Pii): Promise<EnrollmentSnapshot> {
    const tokenId = this.#tokenId(authToken);
    const event: PartnerEnrollmentEvent = { type: 'START_KBA', pii: this.sealPii(tokenId, pii) };
    return this.#locked(tokenId, async (actor, record) => {
      const current = actor.getSnapshot();
      if (!current.matches('awaitingEnrollment') && !current.matches('awaitingKbaAnswers')) throw notFound();
      const start: KbaStart = { tokenId, subject: current.context.subject, tokenExpiresAt: record.expiresAt };
      await this.#deps.kbaStarts.admit(start, current.context.kbaStartsLeft);
      let settled: Settled;
      try {
        settled = await this.#runToRest(actor, () => actor.send(event));
      } catch (error) {
        // The core's (or the flow's) failure is the answer; an audit that fails too must not hide it.
        await this.#deps.kbaStarts.settled(start, 'failed').catch(() => undefined);
        throw error;
      }
      await this.#deps.kbaStarts.settled(start, settled.snapshot.context.kba ? 'questions' : 'not_verifiable');
      return settled;
    });
  }

  send(authToken: string, event: PartnerEnrollmentEvent): Promise<EnrollmentSnapshot> {
    return this.step(authToken, () => event);
  }

  sealPii(tokenId: string, pii: Pii): string {
    return this.#deps.encryption.seal(JSON.stringify(pii), piiAad(tokenId));
  }

  openPii(snapshot: EnrollmentSnapshot): Pii {
    const sealed = snapshot.context.pii;
    if (sealed === null) throw new Error('this flow keeps no PII: its user is enrolled already');
    return JSON.parse(this.#deps.encryption.open(sealed, piiAad(snapshot.context.tokenId))) as Pii;
  }

  #tokenId(authToken: string): string {
    if (!AUTH_TOKEN.test(authToken)) throw notFound();
    return tokenIdOf(authToken);
  }

  /**
   * Runs `body` on the token's flow under its lock (one step at a time per token; a concurrent one is
   * a CONFLICT), then saves what it settled on, or deletes the record when the flow has ended (the PII
   * goes with it). `body` returns null to only look. A throw leaves the record as it was, so the step
   * can be retried.
   */
  async #locked(tokenId: string, body: (actor: Actor<PartnerEnrollmentMachine>, record: AuthTokenRecord) => Promise<Settled | null>): Promise<EnrollmentSnapshot> {
    // Lock and read in one round trip, and at the end drop record and lock in one: this step is on
    // every partner GET, and each Redis round trip costs the shared cores a socket write and read.
    const locked = await this.#deps.tokens.lockAndLoad(tokenId);
    if (locked === null) throw new DomainError('CONFLICT', 'Another request is using this authToken; try again');
    let unlocked = false;
    try {
      const record = this.#current(locked.record);
      const actor = this.#restore(record.snapshot);
      const settled = await body(actor, record);
      if (settled === null) return actor.getSnapshot();
      const { snapshot, persisted } = settled;
      if (persisted === null) {
        await this.#deps.tokens.deleteAndUnlock(tokenId);
        unlocked = true;
      } else if (!(await this.#deps.tokens.save(tokenId, { ...record, snapshot: persisted }))) throw notFound();
      return snapshot;
    } finally {
      if (!unlocked) await this.#deps.tokens.unlock(tokenId);
    }
  }

  #restore(snapshot: Snapshot<unknown>): Actor<PartnerEnrollmentMachine> {
    // Restoring takes no input (it is in the snapshot), which the machine's typing cannot express.
    return createActor(this.#deps.machine as AnyStateMachine, { snapshot }) as unknown as Actor<PartnerEnrollmentMachine>;
  }

  #current(record: AuthTokenRecord | null): AuthTokenRecord {
    // A token minted by another machine version cannot be continued: the partner starts again.
    if (!record || record.machineVersion !== PARTNER_ENROLLMENT_MACHINE_VERSION) throw notFound();
    return record;
  }

  /** `persisted` is null when the flow has ended: there is nothing left to save. */
  async #runToRest(actor: Actor<PartnerEnrollmentMachine>, act: () => void): Promise<Settled> {
    // Without an error observer XState rethrows actor errors from a timer, where nothing catches them.
    const subscription = actor.subscribe({ error: () => undefined });
    try {
      actor.start();
      act();
      let snapshot: AnyMachineSnapshot = actor.getSnapshot();
      try {
        // Most steps come to rest synchronously (a decision, no effect): no need for a waiter then.
        if (!isAtRest(snapshot)) snapshot = await waitFor(actor, isAtRest, { timeout: this.#settleTimeoutMs });
      } catch (error) {
        const current = actor.getSnapshot();
        if (current.status === 'error') throw current.error;
        throw new Error(`partner enrollment did not come to rest within ${this.#settleTimeoutMs} ms`, { cause: error });
      }
      if (snapshot.status === 'error') throw snapshot.error;
      return { snapshot: snapshot as EnrollmentSnapshot, persisted: snapshot.status === 'done' ? null : actor.getPersistedSnapshot() };
    } finally {
      subscription.unsubscribe();
      actor.stop();
    }
  }
}
