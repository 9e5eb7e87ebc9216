import { readFile } from 'node:fs/promises';
import { compileErrors, validate } from '@readme/openapi-parser';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createRouter } from './routes.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

async function loadDocument(): Promise<Record<string, unknown>> {
  return parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** `METHOD /path/{param}` for every operation of the document. */
function documentedRoutes(doc: Record<string, unknown>): string[] {
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`));
}

/** The same list from the router's layers; HEAD is the router's automatic twin of GET. */
function servedRoutes(): string[] {
  // The pool is never used: building the router connects to nothing.
  const router = createRouter(new pg.Pool({ connectionString: 'postgres://unused.invalid/none' }), pino({ enabled: false }));
  return router.stack.flatMap((layer) =>
    layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
  );
}

describe('upstream/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await loadDocument();
    expect(doc.openapi).toMatch(/^3\.1\./);
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('documents exactly the routes the reference server serves', async () => {
    const documented = documentedRoutes(await loadDocument()).sort();
    const served = servedRoutes().sort();
    expect(served.length).toBeGreaterThan(10);
    expect(served).toEqual(documented);
  });

  it('requires the API key everywhere but /health', async () => {
    const doc = await loadDocument();
    expect(doc.security).toEqual([{ apiKey: [] }]);
    const paths = doc.paths as Record<string, Record<string, { security?: unknown; responses?: Record<string, unknown> }>>;
    for (const [path, item] of Object.entries(paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        if (path === '/health') expect(op.security).toEqual([]);
        else {
          expect(op.security, `${method} ${path}`).toBeUndefined();
          expect(Object.keys(op.responses ?? {}), `${method} ${path} documents 401`).toContain('401');
        }
      }
    }
  });
});
