// Name grammars, as Quay and the OCI distribution spec define them.

/** Users and organizations: lowercase, 2–255 characters, separators only between alphanumerics. */
export const NAMESPACE_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** The short part of a robot name (`namespace+short`). */
export const ROBOT_SHORT_RE = /^[a-z][a-z0-9_]{1,254}$/;
/** One path component of a repository name (distribution spec). */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
export const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const ROLE_VALUES = ['read', 'write', 'admin'] as const;
export type RepoRole = (typeof ROLE_VALUES)[number];

export function isNamespaceName(name: string): boolean {
  return name.length >= 2 && name.length <= 255 && NAMESPACE_RE.test(name);
}

export function isRepositoryName(name: string): boolean {
  return name.length >= 1 && name.length <= 255 && REPOSITORY_RE.test(name);
}

/** Splits `ns/repo[/more]` into namespace and repository; null when it is not a valid full name. */
export function splitRepositoryPath(full: string): { namespace: string; repository: string } | null {
  const slash = full.indexOf('/');
  if (slash < 0) return null;
  const namespace = full.slice(0, slash);
  const repository = full.slice(slash + 1);
  if (!isNamespaceName(namespace) || !isRepositoryName(repository)) return null;
  return { namespace, repository };
}

export function splitRobotName(full: string): { namespace: string; short: string } | null {
  const plus = full.indexOf('+');
  if (plus < 0) return null;
  const namespace = full.slice(0, plus);
  const short = full.slice(plus + 1);
  if (!isNamespaceName(namespace) || !ROBOT_SHORT_RE.test(short)) return null;
  return { namespace, short };
}
