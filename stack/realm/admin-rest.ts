/**
 * Minimal Keycloak Admin REST client for the realm applier: plain JSON over fetch with an admin
 * token from the master realm (password grant on `admin-cli`), renewed on 401.
 */
export class AdminRest {
  readonly #baseUrl: string;
  readonly #username: string;
  readonly #password: string;
  #token: string | undefined;

  constructor(opts: { keycloakUrl: string; username: string; password: string }) {
    this.#baseUrl = opts.keycloakUrl.replace(/\/$/, '');
    this.#username = opts.username;
    this.#password = opts.password;
  }

  async token(): Promise<string> {
    if (this.#token) return this.#token;
    const res = await fetch(`${this.#baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: this.#username, password: this.#password }),
    });
    if (!res.ok) throw new Error(`Keycloak admin login failed with HTTP ${res.status} (check the admin credentials)`);
    this.#token = ((await res.json()) as { access_token: string }).access_token;
    return this.#token;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, retried = false): Promise<{ status: number; body: T; location?: string }> {
    const res = await fetch(`${this.#baseUrl}/admin/realms${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 && !retried) {
      this.#token = undefined;
      return this.request(method, path, body, true);
    }
    const text = await res.text();
    if (!res.ok && res.status !== 404) {
      throw new Error(`${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 500)}`);
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, ...(location ? { location } : {}) };
  }

  async get<T>(path: string): Promise<T | undefined> {
    const res = await this.request<T>('GET', path);
    return res.status === 404 ? undefined : res.body;
  }
  async post(path: string, body: unknown): Promise<string | undefined> {
    const res = await this.request('POST', path, body);
    if (res.status === 404) throw new Error(`POST ${path}: not found`);
    return res.location?.split('/').pop();
  }
  async put(path: string, body: unknown): Promise<void> {
    const res = await this.request('PUT', path, body);
    if (res.status === 404) throw new Error(`PUT ${path}: not found`);
  }
  async delete(path: string, body?: unknown): Promise<void> {
    await this.request('DELETE', path, body);
  }
}
