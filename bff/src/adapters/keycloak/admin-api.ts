import KcAdminClient from '@keycloak/keycloak-admin-client';
import { DomainError } from '../../kernel/errors.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

/**
 * Keycloak's Admin API as the BFF's service account, shared by the Keycloak adapters: every call
 * gets a fresh-enough token, and Keycloak's errors come back as our codes (`translateAdminError`).
 */
export class KeycloakAdminApi {
  readonly #admin: KcAdminClient;
  readonly #tokens: ServiceAccountTokens;

  constructor(opts: { keycloakUrl: string; realm: string; tokens: ServiceAccountTokens }) {
    this.#admin = new KcAdminClient({ baseUrl: opts.keycloakUrl, realmName: opts.realm });
    this.#tokens = opts.tokens;
  }

  async call<T>(what: string, fn: (admin: KcAdminClient) => Promise<T>): Promise<T> {
    this.#admin.setAccessToken(await this.#tokens.accessToken());
    try {
      return await fn(this.#admin);
    } catch (err) {
      throw translateAdminError(what, err);
    }
  }
}

interface KeycloakErrorBody {
  errorMessage?: string;
  error?: string;
  error_description?: string;
  field?: string;
  errors?: { field: string; errorMessage?: string }[];
}

/** Keycloak's answers in our codes. Messages name the operation, never the data sent. */
export function translateAdminError(what: string, err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const response = (err as { response?: Response }).response;
  const data = (err as { responseData?: unknown }).responseData as KeycloakErrorBody | undefined;
  if (!response) {
    return new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unreachable during ${what}`, { cause: err });
  }
  const message = data?.errorMessage ?? data?.error ?? '';
  switch (response.status) {
    case 400: {
      if (/password/i.test(message) || /invalidPassword/.test(message)) {
        // error_description is Keycloak's sentence for the policy rule, e.g. "Invalid password: minimum length 10."
        const text = data?.error_description ?? 'The password does not meet the password policy';
        return new DomainError('VALIDATION_FAILED', 'The password does not meet the password policy', {
          fields: [{ field: 'password', reason: 'policy', message: text }],
        });
      }
      // User-profile validation answers {field, errorMessage} for one problem, {errors: [...]} for several.
      const issues = data?.errors ?? (data?.field ? [{ field: data.field, errorMessage: message }] : []);
      return new DomainError('VALIDATION_FAILED', `Keycloak rejected ${what}`, {
        fields: issues.map((i) => ({ field: i.field, reason: 'invalid', message: i.errorMessage ?? 'invalid' })),
      });
    }
    case 404:
      return new DomainError('NOT_FOUND', `Not found during ${what}`);
    case 409: {
      const field = /email/i.test(message) ? 'email' : /username/i.test(message) ? 'username' : undefined;
      return new DomainError('ACCOUNT_EXISTS', 'An account with these details already exists', {
        fields: field ? [{ field, reason: 'taken', message: `This ${field} is already in use` }] : [],
      });
    }
    case 401:
    case 403:
      return new DomainError('IDENTITY_DIRECTORY_FAILED', `The BFF is not allowed to ${what} (service-account roles?)`);
    case 502:
    case 503:
    case 504:
      return new DomainError('IDENTITY_DIRECTORY_UNAVAILABLE', `Keycloak unavailable during ${what}`);
    default:
      return new DomainError('IDENTITY_DIRECTORY_FAILED', `Keycloak failed during ${what} (HTTP ${response.status})`);
  }
}
