import type { Feature } from '../../http/feature.ts';
import { defineFlow, type FlowRuntime } from '../../kernel/flow/index.ts';
import type { EphemeralStore } from '../../ports/ephemeral-store.ts';
import { stateLinkActors, type StateLinkEffectDeps } from './actors.ts';
import { StateLinkVerifier, type StateLinkIssuer } from './link-verifier.ts';
import { stateLinkAssets } from './pages.ts';
import { stateLinkRouter } from './routes.ts';
import { StateLinkService } from './service.ts';
import { STATE_LINK_KIND, STATE_LINK_MACHINE_VERSION, stateLinkMachine, type SessionTarget } from './state-link.machine.ts';

export interface StateLinkWiring {
  config: {
    keycloakUrl: string;
    realm: string;
    publicUrl: string;
    portalClientId: string;
    stateLinkIssuers: StateLinkIssuer[];
    stateLinkMaxAgeSeconds: number;
    stateLinkClockToleranceSeconds: number;
    stateLinkJwksCacheSeconds: number;
    stateLinkJwksCooldownSeconds: number;
    stateLinkTtlSeconds: number;
  };
  flowRuntime: FlowRuntime;
  ephemeralStore: EphemeralStore;
  identityDirectory: StateLinkEffectDeps['directory'];
  otp: StateLinkEffectDeps['otp'];
  accounts: StateLinkEffectDeps['accounts'];
  upstreamCore: StateLinkEffectDeps['upstream'];
  userChangeFeed: StateLinkEffectDeps['deletedAccounts'];
}

/**
 * How a sign-in ends in Keycloak, the sign-up's way (decision 0027), handed over by the composition
 * root (flows do not import each other): the session a restart URL names, and a ticket's continue URL.
 */
export interface KeycloakSignIn {
  sessionOf(returnUrl: unknown): SessionTarget | undefined;
  continueUrl(userId: string, target: SessionTarget): Promise<string>;
}

/** Sign-in from a state portal link (decision 0039): its pages and steps on the one flow runtime. */
export function wireStateLink(w: StateLinkWiring, keycloakSignIn: KeycloakSignIn): Feature {
  const { config } = w;
  const verifier = new StateLinkVerifier({
    issuers: config.stateLinkIssuers,
    store: w.ephemeralStore,
    maxAgeSeconds: config.stateLinkMaxAgeSeconds,
    clockToleranceSeconds: config.stateLinkClockToleranceSeconds,
    jwksCacheSeconds: config.stateLinkJwksCacheSeconds,
    jwksCooldownSeconds: config.stateLinkJwksCooldownSeconds,
  });
  const portalUrl = new URL('/portal/', config.publicUrl).href;
  const service = new StateLinkService({
    runtime: w.flowRuntime,
    flow: defineFlow({
      kind: STATE_LINK_KIND,
      machineVersion: STATE_LINK_MACHINE_VERSION,
      ttlSeconds: config.stateLinkTtlSeconds,
      machine: stateLinkMachine.provide({
        actors: stateLinkActors({
          directory: w.identityDirectory,
          upstream: w.upstreamCore,
          deletedAccounts: w.userChangeFeed,
          otp: w.otp,
          accounts: w.accounts,
          signIn: keycloakSignIn.continueUrl,
        }),
      }),
    }),
    verifier,
    keycloak: { keycloakUrl: config.keycloakUrl, realm: config.realm, clientId: config.portalClientId, redirectUri: portalUrl },
  });
  return {
    routers: [
      stateLinkRouter({
        service,
        sessionOf: keycloakSignIn.sessionOf,
        portalUrl,
        secureCookie: config.publicUrl.startsWith('https:'),
        ttlSeconds: config.stateLinkTtlSeconds,
      }),
    ],
    assets: stateLinkAssets,
  };
}
