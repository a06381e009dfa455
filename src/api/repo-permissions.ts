// Repository permissions for users, robots and teams (Quay's endpoints/api/permission.py); all
// of them need admin on the repository.
import { z } from 'zod';
import { ROLE_VALUES } from '../auth/names.js';
import type { Team } from '../auth/teams.js';
import {
  getAccountPermission, getTeamPermission, listAccountPermissions, listTeamPermissions,
  removeAccountPermission, removeTeamPermission, setAccountPermission, setTeamPermission,
  type AccountPermission,
} from '../repos/permissions.js';
import type { Repository } from '../repos/repositories.js';
import type { RepoRole } from '../auth/names.js';
import { avatarOf } from './avatar.js';
import { audit } from './context.js';
import type { RepoEndpoint, RepoRequest } from './repo-router.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

const RoleBody = z.object({
  role: z.string().refine((r) => (ROLE_VALUES as readonly string[]).includes(r), { message: 'unknown role: use read, write or admin' }),
});

function accountView(p: AccountPermission) {
  return {
    role: p.role,
    name: p.account.name,
    is_robot: p.account.kind === 'robot',
    avatar: avatarOf(p.account.name, p.account.kind === 'robot' ? 'robot' : 'user', p.account.email),
    ...(p.isOrgMember === null ? {} : { is_org_member: p.isOrgMember }),
  };
}

function teamView(team: Team, role: RepoRole) {
  return { role, name: team.name, avatar: avatarOf(team.name, 'team') };
}

const logTarget = (repo: Repository) => ({ namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo });

async function putAccount({ deps, req, params, repo: load }: RepoRequest) {
  const repo = await load('admin');
  const { role } = parseInput(RoleBody, req.body);
  return deps.db.transaction(async (tx) => {
    const change = await setAccountPermission(tx, repo, params.username!, role);
    await audit(tx, req, {
      kind: change.previous ? 'change_repo_permission' : 'add_repo_permission', ...logTarget(repo),
      metadata: { username: change.subject.account.name, repo: repo.name, namespace: repo.namespace, role, ...(change.previous ? { previous_role: change.previous } : {}) },
    });
    return accountView(change.subject);
  });
}

async function putTeam({ deps, req, params, repo: load }: RepoRequest) {
  const repo = await load('admin');
  const { role } = parseInput(RoleBody, req.body);
  return deps.db.transaction(async (tx) => {
    const change = await setTeamPermission(tx, repo, params.teamname!, role);
    await audit(tx, req, {
      kind: change.previous ? 'change_repo_permission' : 'add_repo_permission', ...logTarget(repo),
      metadata: { team: change.subject.team.name, repo: repo.name, namespace: repo.namespace, role, ...(change.previous ? { previous_role: change.previous } : {}) },
    });
    return teamView(change.subject.team, change.subject.role);
  });
}

export const repoPermissionEndpoints: RepoEndpoint[] = [
  {
    method: 'GET',
    path: 'permissions/user/',
    doc: documented('List the users and robots with a role on a repository', ['repo:admin']).schema,
    async handler({ deps, repo: load }) {
      const perms = await listAccountPermissions(deps.db, await load('admin'));
      return { permissions: Object.fromEntries(perms.map((p) => [p.account.name, accountView(p)])) };
    },
  },
  {
    method: 'GET',
    path: 'permissions/user/:username',
    doc: documented("Show a user's or robot's role on a repository", ['repo:admin']).schema,
    async handler({ deps, params, repo: load }) {
      return accountView(await getAccountPermission(deps.db, await load('admin'), params.username!));
    },
  },
  {
    method: 'PUT',
    path: 'permissions/user/:username',
    doc: documented('Give a user or robot a role on a repository', ['repo:admin']).schema,
    handler: putAccount,
  },
  {
    method: 'DELETE',
    path: 'permissions/user/:username',
    doc: documented("Take a user's or robot's role on a repository away", ['repo:admin']).schema,
    async handler({ deps, req, reply, params, repo: load }) {
      const repo = await load('admin');
      await deps.db.transaction(async (tx) => {
        const change = await removeAccountPermission(tx, repo, params.username!);
        await audit(tx, req, {
          kind: 'delete_repo_permission', ...logTarget(repo),
          metadata: { username: change.subject.name, repo: repo.name, namespace: repo.namespace, previous_role: change.previous },
        });
      });
      return reply.code(204).send();
    },
  },
  {
    method: 'GET',
    path: 'permissions/team/',
    doc: documented('List the teams with a role on a repository', ['repo:admin']).schema,
    async handler({ deps, repo: load }) {
      const perms = await listTeamPermissions(deps.db, await load('admin'));
      return { permissions: Object.fromEntries(perms.map((p) => [p.team.name, teamView(p.team, p.role)])) };
    },
  },
  {
    method: 'GET',
    path: 'permissions/team/:teamname',
    doc: documented("Show a team's role on a repository", ['repo:admin']).schema,
    async handler({ deps, params, repo: load }) {
      const p = await getTeamPermission(deps.db, await load('admin'), params.teamname!);
      return teamView(p.team, p.role);
    },
  },
  {
    method: 'PUT',
    path: 'permissions/team/:teamname',
    doc: documented('Give a team a role on a repository', ['repo:admin']).schema,
    handler: putTeam,
  },
  {
    method: 'DELETE',
    path: 'permissions/team/:teamname',
    doc: documented("Take a team's role on a repository away", ['repo:admin']).schema,
    async handler({ deps, req, reply, params, repo: load }) {
      const repo = await load('admin');
      await deps.db.transaction(async (tx) => {
        const change = await removeTeamPermission(tx, repo, params.teamname!);
        await audit(tx, req, {
          kind: 'delete_repo_permission', ...logTarget(repo),
          metadata: { team: change.subject.name, repo: repo.name, namespace: repo.namespace, previous_role: change.previous },
        });
      });
      return reply.code(204).send();
    },
  },
];
