import type { Scope } from '../auth/scopes.js';

/** OpenAPI security requirements: scheme name → scopes. */
export type SecurityRequirement = Record<string, string[]>;

// What GET /api/v1/discovery says of a route rides in Fastify's `schema`, where @fastify/swagger
// also reads it; Fastify itself compiles only the validation keys and ignores these.
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    /** Absent: any credentials. */
    security?: SecurityRequirement[];
  }
}

/**
 * Route options describing an endpoint for the discovery document: its summary and the OAuth
 * scopes a token needs for it (Basic with a password carries every scope). `scopes: null` marks
 * an endpoint anybody may call.
 */
export function documented(summary: string, scopes?: readonly Scope[] | null): { schema: { summary: string; security?: SecurityRequirement[] } } {
  if (scopes === null) return { schema: { summary, security: [] } };
  return { schema: { summary, ...(scopes ? { security: [{ oauth2: [...scopes] }, { basic: [] }] } : {}) } };
}
