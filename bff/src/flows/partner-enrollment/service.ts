import { createHash } from 'node:crypto';
import type { SnapshotFrom } from 'xstate';
import type { BoundSeal } from '../../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { randomBytesPooled } from '../../kernel/crypto/random-bytes.ts';
import { DomainError } from '../../kernel/errors.ts';
import { FlowError, defineFlow, type FlowDefinition, type FlowRuntime, type FlowView } from '../../kernel/flow/index.ts';
import type { PartnerStore } from '../../partners/partner-store.ts';
import { partnerPiiSeal } from './enroll-user.ts';
import type { KbaStart, KbaStartLimits } from './kba-starts.ts';
import {
  PARTNER_ENROLLMENT_KIND,
  PARTNER_ENROLLMENT_MACHINE_VERSION,
  type PartnerEnrollmentEvent,
  type PartnerEnrollmentMachine,
} from './partner-enrollment.machine.ts';
import { AUTH_TOKEN, type AuthRequest, type Pii } from './schemas.ts';

export type EnrollmentSnapshot = SnapshotFrom<PartnerEnrollmentMachine>;

/**
 * Where the flows live in Redis (`RedisFlowStore` keys for this kind): the names authToken records
 * always had, so tokens issued before an upgrade stay usable. The id is the token's SHA-256: the token
 * itself is never stored.
 */
export const AUTH_TOKEN_KEYS = { record: 'partner:auth:', lock: 'partner:auth-lock:' };

/** 256 random bits, base64url (43 characters). */
export const newAuthToken = (): string => randomBytesPooled(32).toString('base64url');
export const tokenIdOf = (authToken: string): string => createHash('sha256').update(authToken).digest('hex');

export interface EnrollmentServiceDeps {
  /** The flow runtime on the ephemeral store (`RedisFlowStore`): a flow expires with its authToken. */
  runtime: FlowRuntime;
  /** The machine with its effects provided (wire.ts). */
  machine: PartnerEnrollmentMachine;
  /** The authToken's lifetime, and its flow's. */
  ttlSeconds: number;
  partners: PartnerStore;
  encryption: FieldEncryption;
  kbaMaxAttempts: number;
  /** KBA starts one authToken allows (PARTNER_KBA_STARTS_PER_TOKEN). */
  kbaMaxStarts: number;
  /** The per-partner limit and the audit of KBA starts. */
  kbaStarts: KbaStartLimits;
}

const notFound = () => new DomainError('NOT_FOUND', 'Unknown or expired authToken');

/**
 * The partner API's use cases over the enrollment flow of each authToken, run by the flow runtime:
 * the flow's id is the token's hash, it expires with the token, and it is deleted when it ends (the
 * PII goes with it; the token is used up).
 */
export class PartnerEnrollmentService {
  readonly #deps: EnrollmentServiceDeps;
  readonly #flow: FlowDefinition<PartnerEnrollmentMachine>;
  readonly #pii: BoundSeal<Pii, [tokenId: string]>;

  constructor(deps: EnrollmentServiceDeps) {
    this.#deps = deps;
    this.#flow = defineFlow({
      kind: PARTNER_ENROLLMENT_KIND,
      machineVersion: PARTNER_ENROLLMENT_MACHINE_VERSION,
      machine: deps.machine,
      ttlSeconds: deps.ttlSeconds,
      whenDone: 'delete',
      // Its PII is sealed on its own (bound to the token), the rest are ids and settings: the POST and
      // GET are hot, and a second seal of the whole would cost each of them (decision 0022).
      sealSnapshot: false,
    });
    this.#pii = partnerPiiSeal(deps.encryption);
  }

  /**
   * POST /api/auth/v1: the appKey must belong to the server token's client; the machine decides; the
   * new authToken is stored unless the settings conflict. `enrolled`: the DBP user was enrolled already.
   */
  async authorize(clientId: string, request: AuthRequest): Promise<{ enrolled: boolean; authToken: string; expiresAt: Date }> {
    const resolution = await this.#deps.partners.resolve(request.appKey, request.dbpUserId);
    // An unknown appKey and another partner's appKey look the same to the caller.
    if (!resolution || resolution.clientId !== clientId || !resolution.clientEnabled) {
      throw new DomainError('FORBIDDEN', 'This server token may not use this appKey', {
        fields: [{ field: 'appKey', reason: 'not_allowed', message: 'Not an appKey of this partner' }],
      });
    }
    const authToken = newAuthToken();
    const tokenId = tokenIdOf(authToken);
    const input = {
      tokenId,
      subject: { appKey: request.appKey, dbpUserId: request.dbpUserId, clientId },
      settings: { autoEnroll: resolution.autoEnroll, kbaBypass: resolution.kbaBypass, trustAuth: resolution.trustAuth },
      userId: resolution.userId,
      // Data minimisation, and the enrolled POST is the hot one: nothing after it needs the PII.
      pii: resolution.userId ? null : this.#pii.seal(request.pii, tokenId),
      kbaMaxAttempts: this.#deps.kbaMaxAttempts,
      kbaMaxStarts: this.#deps.kbaMaxStarts,
    };
    // Most decisions need no effect (enrolled, consent, KBA, conflict): the first state already rests
    // and the runtime stores it without starting the actor. Enrolling at once runs the effect.
    const created = await this.#deps.runtime.create(this.#flow, input, { id: tokenId });
    // A flow that ends at once is not stored: the conflict is its only such end.
    if (created.snapshot.matches('conflict')) {
      throw new DomainError(
        'PARTNER_SETTINGS_CONFLICT',
        'autoEnroll is on for this appKey, but the partner is neither trusted (trustAuth) nor allowed consent-based enrollment (kbaBypass)',
      );
    }
    return { enrolled: resolution.userId !== null, authToken, expiresAt: created.expiresAt };
  }

  /**
   * One step: `choose` sees the flow as it rests and names the event to send, or null to only look
   * (nothing runs). The event must be possible in the current state (404 otherwise, as the contract
   * wants for a PATCH on a token that does not await consent). Concurrent steps on one token: the
   * second is a CONFLICT. A failed effect leaves the flow as it was, so the step can be retried.
   */
  async step(authToken: string, choose: (current: EnrollmentSnapshot) => PartnerEnrollmentEvent | null): Promise<EnrollmentSnapshot> {
    return this.#answer(
      this.#deps.runtime.step(this.#flow, this.#tokenId(authToken), (current) => {
        const event = choose(current.snapshot);
        return event && { event };
      }),
    );
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
    const event: PartnerEnrollmentEvent = { type: 'START_KBA', pii: this.#pii.seal(pii, tokenId) };
    // A start admitted whose outcome is not audited yet.
    const pending: { start: KbaStart | null } = { start: null };
    try {
      return await this.#answer(
        this.#deps.runtime.step(this.#flow, tokenId, async ({ snapshot, expiresAt }) => {
          if (!snapshot.matches('awaitingEnrollment') && !snapshot.matches('awaitingKbaAnswers')) throw notFound();
          const start: KbaStart = { tokenId, subject: snapshot.context.subject, tokenExpiresAt: expiresAt.getTime() };
          await this.#deps.kbaStarts.admit(start, snapshot.context.kbaStartsLeft);
          pending.start = start;
          return {
            event,
            beforeSave: async (settled) => {
              pending.start = null;
              await this.#deps.kbaStarts.settled(start, settled.context.kba ? 'questions' : 'not_verifiable');
            },
          };
        }),
      );
    } catch (error) {
      // The core's (or the flow's) failure is the answer; an audit that fails too must not hide it.
      if (pending.start) await this.#deps.kbaStarts.settled(pending.start, 'failed').catch(() => undefined);
      throw error;
    }
  }

  send(authToken: string, event: PartnerEnrollmentEvent): Promise<EnrollmentSnapshot> {
    return this.step(authToken, () => event);
  }

  openPii(snapshot: EnrollmentSnapshot): Pii {
    const sealed = snapshot.context.pii;
    if (sealed === null) throw new Error('this flow keeps no PII: its user is enrolled already');
    return this.#pii.open(sealed, snapshot.context.tokenId);
  }

  #tokenId(authToken: string): string {
    if (!AUTH_TOKEN.test(authToken)) throw notFound();
    return tokenIdOf(authToken);
  }

  /**
   * The partner contract has two answers for a token that cannot take a step: 404 (unknown, expired,
   * used up, or the step is not possible now) and 409 while another request is using it. Errors of
   * the flow's effects pass as they are.
   */
  async #answer(step: Promise<FlowView<PartnerEnrollmentMachine>>): Promise<EnrollmentSnapshot> {
    try {
      return (await step).snapshot;
    } catch (error) {
      if (!(error instanceof FlowError)) throw error;
      if (error.code === 'FLOW_CONFLICT') throw new DomainError('CONFLICT', 'Another request is using this authToken; try again');
      throw notFound();
    }
  }
}
