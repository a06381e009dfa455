// OAuth scopes, as Quay names them. A token can do no more than its scopes and its user allow.
import type { RepoRole } from './names.js';

export const SCOPES = ['repo:read', 'repo:write', 'repo:admin', 'repo:create', 'user:read', 'user:admin', 'org:admin', 'super:user'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a caller's credentials allow: every scope (password, session) or a token's list. */
export type ScopeSet = 'all' | ReadonlySet<Scope>;

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** Parses space- or comma-separated scopes; the unknown ones are returned apart so callers can refuse them. */
export function parseScopes(raw: string): { scopes: Scope[]; unknown: string[] } {
  const parts = raw.split(/[\s,]+/).filter(Boolean);
  return {
    scopes: [...new Set(parts.filter(isScope))],
    unknown: parts.filter((p) => !isScope(p)),
  };
}

export function hasScope(set: ScopeSet, scope: Scope): boolean {
  return set === 'all' || set.has(scope);
}

/** The highest repository role a scope set lets its holder use (Quay's SCOPE_MAX_REPO_ROLES). */
export function maxRepoRole(set: ScopeSet): RepoRole | null {
  if (set === 'all' || set.has('repo:admin')) return 'admin';
  if (set.has('repo:write')) return 'write';
  if (set.has('repo:read')) return 'read';
  return null;
}
