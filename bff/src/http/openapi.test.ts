import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import { compileErrors, validate } from '@readme/openapi-parser';
import type Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Infrastructure, wireFeatures } from '../composition-root.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../kernel/logger.ts';
import { createApp, listRoutes, type AppDeps } from './app.ts';
import { OPENAPI_FILE, documentedRoutes, loadOpenApi, type RouteInfo } from './openapi.ts';

/**
 * The app with the composition root's own list of features (`wireFeatures`), minus real
 * dependencies: only the configuration and a logger are real, so a feature added there is checked
 * here too.
 */
function buildApp(extraRouters: Router[] = []): Koa {
  const logger = createLogger({ level: 'silent' });
  const infra = new Proxy({} as Infrastructure, {
    get: (_target, name) =>
      name === 'config'
        ? loadConfig({ NODE_ENV: 'test' })
        : name === 'logger'
          ? logger
          : // The flow runtime reads its store's lock time when it is built.
            unusedDeps(String(name), name === 'ephemeralFlowStore' ? { holdMs: 35_000 } : {}),
  });
  const deps: AppDeps = {
    logger,
    readiness: [],
    readinessTimeoutMs: 100,
    openApi: loadOpenApi(),
    routers: [...wireFeatures(infra).features.flatMap((f) => f.routers), ...extraRouters],
  };
  return createApp(deps);
}

/** A dependency that routes are only listed with: wiring may hold it (and read `settings`), using it fails the test. */
function unusedDeps(dependency: string, settings: Record<string, unknown> = {}): object {
  return new Proxy(settings, {
    get(target, name) {
      if (Object.hasOwn(target, name)) return target[name as string];
      throw new Error(`a route-listing test used ${dependency}.${String(name)}`);
    },
  });
}

/** JSON Schema 2020-12's keywords (core, applicator, unevaluated, validation, meta-data, format, content) and OpenAPI 3.1's own. */
const SCHEMA_KEYWORDS = new Set([
  ...['$id', '$schema', '$ref', '$anchor', '$dynamicRef', '$dynamicAnchor', '$vocabulary', '$comment', '$defs'],
  ...['prefixItems', 'items', 'contains', 'additionalProperties', 'properties', 'patternProperties', 'dependentSchemas', 'propertyNames'],
  ...['if', 'then', 'else', 'allOf', 'anyOf', 'oneOf', 'not', 'unevaluatedItems', 'unevaluatedProperties'],
  ...['type', 'const', 'enum', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern'],
  ...['maxItems', 'minItems', 'uniqueItems', 'maxContains', 'minContains', 'maxProperties', 'minProperties', 'required', 'dependentRequired'],
  ...['title', 'description', 'default', 'deprecated', 'readOnly', 'writeOnly', 'examples', 'format', 'contentEncoding', 'contentMediaType', 'contentSchema'],
  ...['discriminator', 'xml', 'externalDocs', 'example'],
]);
/** Keywords whose value is one schema, a map of schemas, or a list of schemas. */
const SUBSCHEMA = [
  'items',
  'contains',
  'additionalProperties',
  'propertyNames',
  'if',
  'then',
  'else',
  'not',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
];
const SCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs'];
const SCHEMA_LISTS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'];
/** Values that are data, not document: a null there is meant. */
const DATA = new Set(['example', 'examples', 'default', 'const', 'enum']);

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Keys without a value anywhere in the document (outside example data), and keywords that neither
 * JSON Schema nor OpenAPI define in its schemas (`x-` extensions allowed): where the schemas are
 * (`components.schemas`, every `schema` of a parameter, header or media type) and in every subschema.
 */
function documentProblems(document: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const nulls = (node: unknown, path: string): void => {
    if (Array.isArray(node)) for (const [i, v] of node.entries()) nulls(v, `${path}.${i}`);
    else if (isMap(node))
      for (const [k, v] of Object.entries(node)) {
        if (v === null) problems.push(`${path}: no value for "${k}"`);
        else if (!DATA.has(k)) nulls(v, `${path}.${k}`);
      }
  };
  const schema = (node: unknown, path: string): void => {
    if (typeof node === 'boolean') return;
    if (!isMap(node)) {
      problems.push(`${path}: not a schema`);
      return;
    }
    for (const k of Object.keys(node)) if (!SCHEMA_KEYWORDS.has(k) && !k.startsWith('x-')) problems.push(`${path}: unknown schema keyword "${k}"`);
    for (const k of SUBSCHEMA) if (k in node) schema(node[k], `${path}.${k}`);
    for (const k of SCHEMA_MAPS) if (isMap(node[k])) for (const [name, sub] of Object.entries(node[k])) schema(sub, `${path}.${k}.${name}`);
    for (const k of SCHEMA_LISTS) if (Array.isArray(node[k])) for (const [i, sub] of (node[k] as unknown[]).entries()) schema(sub, `${path}.${k}.${i}`);
  };
  const schemasIn = (node: unknown, path: string): void => {
    if (Array.isArray(node)) for (const [i, v] of node.entries()) schemasIn(v, `${path}.${i}`);
    else if (isMap(node))
      for (const [k, v] of Object.entries(node)) {
        if (k === 'schema') schema(v, `${path}.${k}`);
        else if (!DATA.has(k)) schemasIn(v, `${path}.${k}`);
      }
  };
  nulls(document, '');
  const { components, ...rest } = document as { components?: { schemas?: Record<string, unknown> } & Record<string, unknown> };
  const { schemas = {}, ...otherComponents } = components ?? {};
  for (const [name, s] of Object.entries(schemas)) schema(s, `.components.schemas.${name}`);
  schemasIn(otherComponents, '.components');
  schemasIn(rest, '');
  return problems.map((p) => p.slice(1));
}

const key = (r: RouteInfo) => `${r.method} ${r.path}`;

/** Routes without an operation, and operations without a route. */
function mismatches(app: Koa, document: Record<string, unknown>) {
  const routes = new Set(listRoutes(app).map(key));
  const documented = new Set(documentedRoutes(document).map(key));
  return {
    undocumented: [...routes].filter((r) => !documented.has(r)),
    unrouted: [...documented].filter((r) => !routes.has(r)),
  };
}

describe('bff/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(fileURLToPath(OPENAPI_FILE));
    expect(result.valid, compileErrors(result)).toBe(true);
    expect(result.specification).toBe('OpenAPI');
    expect(loadOpenApi().openapi).toMatch(/^3\.1\./);
  });

  it('uses only JSON Schema and OpenAPI keywords in its schemas, and no key without a value', () => {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12, which ignores keywords it does not know, so the
    // validator above cannot see a misspelt keyword or a YAML slip (a comma in a flow mapping makes a
    // key of the rest of the line, with a null value): this walk does.
    expect(documentProblems(loadOpenApi())).toEqual([]);
  });

  it('describes exactly the routes of the app', () => {
    const app = buildApp();
    expect(listRoutes(app).length).toBeGreaterThan(0);
    expect(mismatches(app, loadOpenApi())).toEqual({ undocumented: [], unrouted: [] });
  });

  it('lists every error code of the problem table in the Problem schema', async () => {
    const { ERROR_TABLE } = await import('./problem.ts');
    const schemas = (loadOpenApi().components as { schemas: { Problem: { properties: { code: { enum: string[] } } } } }).schemas;
    expect([...schemas.Problem.properties.code.enum].sort()).toEqual(Object.keys(ERROR_TABLE).sort());
  });

  it('is served as JSON at /openapi.json', async () => {
    const server = createServer(buildApp().callback()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual(loadOpenApi());
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('the schema check', () => {
  it('names an unknown keyword, a key without a value and a misspelt keyword, where they are', () => {
    const parsed = parse(`
components:
  schemas:
    SendOtpRequest:
      type: object
      properties:
        language: { type: string, description: Language of the message; without it, Accept-Language decides }
        code: { type: string, pattren: '^[0-9]{6}$', x-note: fine }
        list: { type: array, items: { type: string, minLenght: 1 } }
      examples: [{ language: null }]
paths:
  /a:
    get:
      parameters: [{ name: q, in: query, schema: { type: string, nullable: true } }]
      responses:
        '200': { description: ok, content: { application/json: { schema: { $ref: '#/components/schemas/SendOtpRequest' }, example: { a: null } } } }
`) as Record<string, unknown>;
    expect(documentProblems(parsed)).toEqual([
      'components.schemas.SendOtpRequest.properties.language: no value for "Accept-Language decides"',
      'components.schemas.SendOtpRequest.properties.language: unknown schema keyword "Accept-Language decides"',
      'components.schemas.SendOtpRequest.properties.code: unknown schema keyword "pattren"',
      'components.schemas.SendOtpRequest.properties.list.items: unknown schema keyword "minLenght"',
      'paths./a.get.parameters.0.schema: unknown schema keyword "nullable"',
    ]);
  });
});

describe('the route check', () => {
  it('catches flow routes missing from the document, with koa params as OpenAPI templates', () => {
    const flow = new Router({ prefix: '/flows/claim' });
    flow.post('/', () => {});
    flow.get('/:flowId', () => {});
    const { undocumented, unrouted } = mismatches(buildApp([flow]), loadOpenApi());
    expect(undocumented.sort()).toEqual(['GET /flows/claim/{flowId}', 'POST /flows/claim']);
    expect(unrouted).toEqual([]);
  });

  it('catches documented operations without a route', () => {
    const document = loadOpenApi();
    const paths = document.paths as Record<string, unknown>;
    paths['/gone/{id}'] = { delete: { responses: { '204': { description: 'gone' } } }, parameters: [] };
    expect(mismatches(buildApp(), document)).toEqual({ undocumented: [], unrouted: ['DELETE /gone/{id}'] });
  });
});
