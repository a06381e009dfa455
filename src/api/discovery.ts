// GET /api/v1/discovery: an OpenAPI 3 document built from the routes actually registered, so it
// cannot drift from the code. Routes say what they are with `documented(…)` (route-docs.ts);
// the rest are listed with a summary made from their method and path.
import type { RouteOptions } from 'fastify';
import type { Scope } from '../auth/scopes.js';
import type { ApiModule } from './context.js';
import { REPOSITORY_ENDPOINTS } from './repo-router.js';
import { documented, type SecurityRequirement } from './route-docs.js';

interface Operation {
  method: string;
  /** OpenAPI path: `{param}` for Fastify's `:param` and `*`. */
  path: string;
  doc?: { summary?: string; security?: SecurityRequirement[] };
}

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'repo:read': 'View all visible repositories',
  'repo:write': 'Read/Write to any accessible repositories',
  'repo:admin': 'Administer repositories',
  'repo:create': 'Create repositories',
  'user:read': 'Read user information',
  'user:admin': 'Administer user',
  'org:admin': 'Administer organization',
  'super:user': 'Super user',
};

/** `/repository/*` dispatches many endpoints itself; each becomes its own path here. */
const REPOSITORY_WILDCARD = /\/repository\/\*$/;

/**
 * A route registered once per nested-name depth (`:namespace/:n0/…/:nK`, as the build-log
 * stream is) addresses one repository: documented once, as `{repository}` like the others.
 */
const REPOSITORY_BY_DEPTH = /\/repository\/:namespace(?:\/:n\d+)+(?=\/|$)/;

function openApiPath(url: string): string {
  return url.replace(REPOSITORY_BY_DEPTH, '/repository/{repository}').replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function operationsOf(route: RouteOptions): Operation[] {
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD' && m !== 'OPTIONS');
  const doc = route.schema;
  if (REPOSITORY_WILDCARD.test(route.url)) {
    const base = route.url.replace(/\*$/, '{repository}');
    return REPOSITORY_ENDPOINTS.map((e) => ({
      method: e.method,
      path: openApiPath(e.path ? `${base}/${e.path.replace(/\/$/, '')}` : base),
      doc: e.doc,
    }));
  }
  return methods.map((method) => ({ method, path: openApiPath(route.url), doc }));
}

function operationId(method: string, path: string): string {
  const words = path.replace(/^\/api\/v1\//, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operationObject(op: Operation) {
  const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
    name: m[1]!, in: 'path', required: true, schema: { type: 'string' },
    ...(m[1] === 'repository' ? { description: 'The full path of the repository, e.g. namespace/name' } : {}),
  }));
  return {
    operationId: operationId(op.method, op.path),
    summary: op.doc?.summary ?? `${op.method} ${op.path}`,
    tags: [op.path.replace(/^\/api\/v1\//, '').split('/')[0] || 'api'],
    ...(params.length ? { parameters: params } : {}),
    ...(op.doc?.security ? { security: op.doc.security } : {}),
    responses: { default: { description: 'JSON; errors are {status, error_type, title, error_message, detail}' } },
  };
}

export function openApiDocument(ops: Operation[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) (paths[op.path] ??= {})[op.method.toLowerCase()] = operationObject(op);
  return {
    openapi: '3.0.3',
    info: { title: 'Slipway API', version: '1', description: 'The Quay-compatible REST API of Slipway.' },
    servers: [{ url: serverUrl }],
    // Without an operation-level requirement: a token, a password, or (where the policy allows) nothing.
    security: [{ oauth2: [] }, { basic: [] }, {}],
    components: {
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          flows: { authorizationCode: { authorizationUrl: '/oauth/authorize', tokenUrl: '/oauth/access_token', scopes: SCOPE_DESCRIPTIONS } },
        },
        basic: { type: 'http', scheme: 'basic', description: "A user's password, or `$oauthtoken` with an OAuth token" },
      },
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** Must be the first module: it sees only the routes registered after it. */
export const discoveryRoutes: ApiModule = (app, deps) => {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  let cached: unknown;
  app.get('/discovery', documented('This OpenAPI document', null), async () => {
    cached ??= openApiDocument(routes.flatMap(operationsOf), `${deps.config.PREFERRED_URL_SCHEME}://${deps.config.SERVER_HOSTNAME}`);
    return cached;
  });
};
