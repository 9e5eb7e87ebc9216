import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FlowDefinition, FlowRuntime, FlowView } from '../../kernel/flow/index.ts';
import type { Language } from '../../kernel/languages.ts';
import type { StateLinkVerifier } from './link-verifier.ts';
import type { SessionTarget, StateLinkMachine } from './state-link.machine.ts';

export type StateLinkView = FlowView<StateLinkMachine>;

export interface StateLinkServiceDeps {
  runtime: FlowRuntime;
  flow: FlowDefinition<StateLinkMachine>;
  verifier: Pick<StateLinkVerifier, 'verify'>;
  /** The authorization request a link starts: Keycloak, the realm, the portal's client and its redirect URI. */
  keycloak: { keycloakUrl: string; realm: string; clientId: string; redirectUri: string };
}

/**
 * The state link's use cases over FlowRuntime: `start` verifies the link (its jti spent) and starts
 * the flow; `arrive`, `code`, `resend` are its steps. Events are built here, never taken from a body.
 */
export class StateLinkService {
  readonly #d: StateLinkServiceDeps;

  constructor(deps: StateLinkServiceDeps) {
    this.#d = deps;
  }

  /** Verifies the link (a refusal throws, see link-verifier.ts) and looks the person up. */
  async start(token: unknown, language: Language): Promise<StateLinkView> {
    const claims = await this.#d.verifier.verify(token);
    const flowId = randomUUID();
    return this.#d.runtime.create(
      this.#d.flow,
      {
        flowId,
        tenant: claims.issuer.tenant,
        identityProvider: claims.issuer.identityProvider ?? null,
        stateUserId: claims.stateUserId,
        name: claims.name,
        phone: claims.phone,
        language,
      },
      { id: flowId },
    );
  }

  get(flowId: string): Promise<StateLinkView> {
    return this.#d.runtime.get(this.#d.flow, flowId);
  }

  /** Back from Keycloak with its authentication session (the tab a ticket will be minted for). */
  arrive(flowId: string, target: SessionTarget, ip: string): Promise<StateLinkView> {
    return this.#d.runtime.send(this.#d.flow, flowId, { type: 'ARRIVE', target, ip });
  }

  code(flowId: string, code: string, ip: string): Promise<StateLinkView> {
    return this.#d.runtime.send(this.#d.flow, flowId, { type: 'CODE', code, ip });
  }

  resend(flowId: string, ip: string): Promise<StateLinkView> {
    return this.#d.runtime.send(this.#d.flow, flowId, { type: 'RESEND', ip });
  }

  /**
   * The portal's authorization request at Keycloak that the sign-in completes in: `platform_screen=state-link`
   * sends it back to our continue page with its restart URL (keycloak/providers SignUpTicketAuthenticator),
   * or, for the claim, `kc_idp_hint` sends it through the state's IdP into Flow 2. The code goes to the
   * portal, whose keycloak-js does not know this request's `state` and drops it, then finds the new
   * Keycloak session (check-sso): the session is Keycloak's, the BFF holds none. The PKCE verifier is
   * thrown away, so the code in that URL can never be redeemed by anyone.
   */
  authorizationUrl(language: Language, via: { screen: 'state-link' } | { identityProvider: string }): string {
    const { keycloakUrl, realm, clientId, redirectUri } = this.#d.keycloak;
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      response_mode: 'fragment',
      scope: 'openid',
      state: randomUUID(),
      nonce: randomUUID(),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ui_locales: language,
      ...('screen' in via ? { platform_screen: via.screen } : { kc_idp_hint: via.identityProvider }),
    });
    return `${keycloakUrl.replace(/\/$/, '')}/realms/${encodeURIComponent(realm)}/protocol/openid-connect/auth?${query.toString()}`;
  }
}
