import type { Runtime } from '../runtime.js';
import { createOrganization, createRobot, createUser, findAccount } from '../auth/accounts.js';
import { splitRepositoryPath, type RepoRole } from '../auth/names.js';
import { createRepository, findRepository, grantAccount } from '../repos/repositories.js';
import { invalid, notFound } from '../errors.js';

export async function createUserCmd(rt: Runtime, name: string, opts: { email: string; password: string; superuser: boolean }): Promise<string> {
  const user = await createUser(rt.db, { name, email: opts.email, password: opts.password, superuser: opts.superuser });
  return `created user ${user.name}${user.superuser ? ' (superuser)' : ''}`;
}

export async function createOrgCmd(rt: Runtime, name: string, opts: { owner: string; email?: string }): Promise<string> {
  const owner = await findAccount(rt.db, opts.owner);
  if (!owner || owner.kind !== 'user') throw notFound(`no user named ${opts.owner}`);
  const org = await createOrganization(rt.db, { name, email: opts.email, owner });
  return `created organization ${org.name} owned by ${owner.name}`;
}

/** Prints only the token, so that scripts can capture it. */
export async function createRobotCmd(rt: Runtime, name: string, opts: { description: string }): Promise<string> {
  const { token } = await createRobot(rt.db, rt.keys, name, opts.description);
  return token;
}

function parseRepoPath(full: string) {
  const parts = splitRepositoryPath(full);
  if (!parts) throw invalid('repository', `invalid repository ${JSON.stringify(full)}: expected namespace/name in lowercase`);
  return parts;
}

export async function createRepoCmd(rt: Runtime, full: string, opts: { public?: boolean; private?: boolean; description: string }): Promise<string> {
  if (opts.public && opts.private) throw invalid('visibility', 'choose one of --public and --private');
  const { namespace, repository } = parseRepoPath(full);
  const repo = await createRepository(rt.db, { namespace, name: repository, visibility: opts.public ? 'public' : 'private', description: opts.description });
  return `created ${repo.visibility} repository ${repo.namespace}/${repo.name}`;
}

export async function grantCmd(rt: Runtime, full: string, account: string, role: string): Promise<string> {
  const { namespace, repository } = parseRepoPath(full);
  const repo = await findRepository(rt.db, namespace, repository);
  if (!repo) throw notFound(`repository ${full} does not exist`);
  await grantAccount(rt.db, repo, account, role as RepoRole);
  return `granted ${role} on ${full} to ${account}`;
}
