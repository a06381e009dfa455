import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireOrganization, type Account } from '../auth/accounts.js';
import { isNamespaceAdmin } from '../auth/policy.js';
import {
  addTeamMember, deleteTeam, putTeam, removeTeamMember, requireTeam, teamMembers, type Team, type TeamSummary,
} from '../auth/teams.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

/** A team as the organization view lists it. */
export function teamSummaryView(org: Account, team: TeamSummary, canView: boolean) {
  return {
    name: team.name,
    description: team.description,
    role: team.role,
    avatar: avatarOf(`${org.name}/${team.name}`, 'team'),
    can_view: canView,
    repo_count: team.repo_count,
    member_count: team.member_count,
    is_synced: false,
  };
}

function memberView(member: { name: string; kind: string }) {
  return { name: member.name, kind: 'user', is_robot: member.kind === 'robot', avatar: avatarOf(member.name, member.kind === 'robot' ? 'robot' : 'user'), invited: false };
}

const TeamInput = z.strictObject({
  role: z.string(),
  description: z.string().max(4096).optional(),
});

/** The organization and team named in the path, after the caller is found to administer the organization. */
async function adminTarget(deps: ApiDeps, req: FastifyRequest): Promise<{ org: Account; teamname: string }> {
  const { orgname, teamname } = req.params as { orgname: string; teamname: string };
  const org = await requireOrganization(deps.db, orgname);
  await authorize(deps, req, { on: 'namespace', namespace: org, level: 'admin' });
  return { org, teamname };
}

export const teamRoutes: ApiModule = (app, deps) => {
  app.put('/organization/:orgname/team/:teamname', documented('Create a team or change its role and description', ['org:admin']), async (req) => {
    const { org, teamname } = await adminTarget(deps, req);
    const input = parseInput(TeamInput, req.body);
    const namespace = { id: org.id, name: org.name };
    const change = await deps.db.transaction(async (tx) => {
      const result = await putTeam(tx, org, teamname, input);
      const team = result.team.name;
      if (result.created) await audit(tx, req, { kind: 'org_create_team', namespace, metadata: { team, role: result.team.role } });
      if (result.roleChanged) await audit(tx, req, { kind: 'org_set_team_role', namespace, metadata: { team, role: result.team.role } });
      if (result.descriptionChanged) await audit(tx, req, { kind: 'org_set_team_description', namespace, metadata: { team, description: result.team.description } });
      return result;
    });
    return {
      name: change.team.name,
      description: change.team.description,
      can_view: true,
      role: change.team.role,
      avatar: avatarOf(`${org.name}/${change.team.name}`, 'team'),
      new_team: change.created,
    };
  });

  app.delete('/organization/:orgname/team/:teamname', documented('Delete a team', ['org:admin']), async (req, reply) => {
    const { org, teamname } = await adminTarget(deps, req);
    await deps.db.transaction(async (tx) => {
      const team = await deleteTeam(tx, org, teamname);
      await audit(tx, req, { kind: 'org_delete_team', namespace: { id: org.id, name: org.name }, metadata: { team: team.name } });
    });
    return reply.code(204).send();
  });

  app.get('/organization/:orgname/team/:teamname/members', documented("List a team's members (admins and the team's members)", ['org:admin']), async (req) => {
    const { orgname, teamname } = req.params as { orgname: string; teamname: string };
    const org = await requireOrganization(deps.db, orgname);
    const team: Team = await requireTeam(deps.db, org, teamname);
    await authorize(deps, req, { on: 'team', namespace: org, team });
    return {
      name: team.name,
      members: (await teamMembers(deps.db, team)).map(memberView),
      can_edit: await isNamespaceAdmin(deps.db, req.identity, org),
    };
  });

  // Members are added directly: Quay's e-mail invitations are not part of Slipway.
  app.put('/organization/:orgname/team/:teamname/members/:membername', documented("Add a user or one of the organization's robots to a team", ['org:admin']), async (req) => {
    const { org, teamname } = await adminTarget(deps, req);
    const { membername } = req.params as { membername: string };
    const member = await deps.db.transaction(async (tx) => {
      const team = await requireTeam(tx, org, teamname);
      const result = await addTeamMember(tx, org, team, membername);
      if (result.added) {
        await audit(tx, req, { kind: 'org_add_team_member', namespace: { id: org.id, name: org.name }, metadata: { team: team.name, member: result.member.name } });
      }
      return result.member;
    });
    return memberView(member);
  });

  app.delete('/organization/:orgname/team/:teamname/members/:membername', documented('Remove a member from a team', ['org:admin']), async (req, reply) => {
    const { org, teamname } = await adminTarget(deps, req);
    const { membername } = req.params as { membername: string };
    await deps.db.transaction(async (tx) => {
      const team = await requireTeam(tx, org, teamname);
      const member = await removeTeamMember(tx, org, team, membername);
      await audit(tx, req, { kind: 'org_remove_team_member', namespace: { id: org.id, name: org.name }, metadata: { team: team.name, member: member.name } });
    });
    return reply.code(204).send();
  });
};
