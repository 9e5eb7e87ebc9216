import { DomainError, type FieldIssue } from '../../kernel/errors.ts';
import { checkFrameOrigin } from '../../partners/frame-origins.ts';
import type { AppKeySettings, PartnerSettings, PartnerStore } from '../../partners/partner-store.ts';
import type { PartnerClients } from '../../ports/partner-clients.ts';
import type { RegisterPartner, UpdatePartner } from './schemas.ts';

export interface PartnerAdminDeps {
  store: PartnerStore;
  clients: PartnerClients;
  /** PARTNER_FRAME_ORIGINS_ALLOW_HTTP: plain http frame origins for hosts other than this machine. */
  allowHttpFrameOrigins: boolean;
}

export interface RegisteredPartner {
  partner: PartnerSettings;
  /** Shown once: only when this call created the Keycloak client. */
  clientSecret?: string;
}

/**
 * Partner administration as plain use cases (the admin API and the CLI call the same functions).
 * Keycloak is written before our store, and every step is idempotent: a registration that died
 * half-way is completed by running it again (the client is adopted, the rows are written).
 */
export function partnerAdmin(deps: PartnerAdminDeps) {
  /**
   * Frame origins the schema normalised, held against this deployment's http rule; each refusal
   * names its place in the list the caller sent (`frameOrigins.1`), before anything is written.
   */
  function assertFrameOriginsAllowed(origins: readonly string[]): void {
    const fields: FieldIssue[] = [];
    origins.forEach((origin, i) => {
      const checked = checkFrameOrigin(origin, { allowHttp: deps.allowHttpFrameOrigins });
      if (!('origin' in checked)) fields.push({ field: `frameOrigins.${i}`, reason: checked.reason, message: checked.message });
    });
    if (fields.length > 0) throw new DomainError('VALIDATION_FAILED', 'A frame origin is not allowed', { fields });
  }

  async function register(input: RegisterPartner): Promise<RegisteredPartner> {
    assertFrameOriginsAllowed(input.frameOrigins ?? []);
    if (await deps.store.getPartner(input.clientId)) {
      throw new DomainError('CONFLICT', 'This partner is registered already', {
        fields: [{ field: 'clientId', reason: 'taken', message: 'A partner with this client id exists' }],
      });
    }
    // Refused before Keycloak is touched: no client is left behind for a registration that cannot succeed.
    await deps.store.assertAppKeysFree(
      input.clientId,
      input.appKeys.map((k) => k.appKey),
    );
    const { secret } = await deps.clients.ensure({ clientId: input.clientId, name: input.name });
    const partner = await deps.store.createPartner(input);
    return { partner, ...(secret ? { clientSecret: secret } : {}) };
  }

  return {
    register,

    /** `register` unless the partner exists (demo data, scripted setups): never changes an existing one. */
    async registerIfAbsent(input: RegisterPartner): Promise<RegisteredPartner & { created: boolean }> {
      const existing = await deps.store.getPartner(input.clientId);
      if (existing) return { partner: existing, created: false };
      return { ...(await register(input)), created: true };
    },

    async get(clientId: string): Promise<PartnerSettings> {
      const partner = await deps.store.getPartner(clientId);
      if (!partner) throw new DomainError('NOT_FOUND', 'No such partner');
      return partner;
    },

    list: () => deps.store.listPartners(),

    async rotateSecret(clientId: string): Promise<{ clientId: string; clientSecret: string }> {
      if (!(await deps.store.getPartner(clientId))) throw new DomainError('NOT_FOUND', 'No such partner');
      return { clientId, clientSecret: await deps.clients.rotateSecret(clientId) };
    },

    /** Disabling also disables the Keycloak client: no new server tokens, and ours refuse the old ones. */
    async update(clientId: string, changes: UpdatePartner): Promise<PartnerSettings> {
      if (changes.frameOrigins) assertFrameOriginsAllowed(changes.frameOrigins);
      if (!(await deps.store.getPartner(clientId))) throw new DomainError('NOT_FOUND', 'No such partner');
      if (changes.enabled !== undefined) await deps.clients.setEnabled(clientId, changes.enabled);
      return deps.store.updatePartner(clientId, changes);
    },

    async putAppKey(clientId: string, key: AppKeySettings): Promise<PartnerSettings> {
      return deps.store.putAppKey(clientId, key);
    },

    /**
     * Adds origins (normalised by the `frameOrigins` schema) to those the partner has; idempotent.
     * `npm start` uses it to give the demo bank its current origin on every start.
     */
    async addFrameOrigins(clientId: string, origins: string[]): Promise<PartnerSettings> {
      assertFrameOriginsAllowed(origins);
      return deps.store.changeFrameOrigins(clientId, { add: origins });
    },

    /** Removes origins (normalised by the schema); removing one the partner does not have changes nothing. */
    async removeFrameOrigins(clientId: string, origins: string[]): Promise<PartnerSettings> {
      return deps.store.changeFrameOrigins(clientId, { remove: origins });
    },
  };
}

export type PartnerAdmin = ReturnType<typeof partnerAdmin>;
