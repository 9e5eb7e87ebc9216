/**
 * Placeholders in realm files: `${NAME}` and `${NAME:-default}` inside strings, and a whole string
 * `$bool{NAME}` for a boolean. Every file stays valid JSON, and a missing variable without a
 * default is an error naming it (never an empty secret).
 */
export function substitute<T>(value: T, env: Record<string, string | undefined>, missing: Set<string>): T {
  if (typeof value === 'string') {
    const bool = /^\$bool\{([A-Z0-9_]+)\}$/.exec(value);
    if (bool?.[1]) {
      const raw = env[bool[1]];
      if (raw === undefined) missing.add(bool[1]);
      return (raw === 'true') as T;
    }
    return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const raw = env[name];
      if (raw !== undefined && raw !== '') return raw;
      if (fallback !== undefined) return fallback;
      missing.add(name);
      return '';
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, env, missing)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, missing)])) as T;
  }
  return value;
}

/**
 * True when everything `desired` says is already true of `actual` (Keycloak adds defaults and ids we
 * do not manage). Scalars compare as strings (Keycloak stores many booleans/numbers as strings),
 * arrays of scalars as sets, arrays of objects element by element.
 */
export function isSubset(desired: unknown, actual: unknown): boolean {
  if (desired === null || desired === undefined) return true;
  if (Array.isArray(desired)) {
    const act = Array.isArray(actual) ? actual : actual === undefined ? [] : [actual];
    if (desired.every((d) => d === null || typeof d !== 'object')) {
      // Set equality, not "same length and every desired member present": ['a','a'] is not ['a','b'].
      const want = new Set(desired.map(String));
      const have = new Set(act.map(String));
      return want.size === have.size && [...want].every((d) => have.has(d));
    }
    if (desired.length !== act.length) return false;
    return desired.every((d, i) => isSubset(d, act[i]));
  }
  if (typeof desired === 'object') {
    if (actual === undefined || actual === null) return Object.keys(desired).length === 0;
    if (typeof actual !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => isSubset(v, (actual as Record<string, unknown>)[k]));
  }
  return String(desired) === String(actual);
}
