import assert from 'node:assert/strict';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, entriesOf, grantedActions, usageLogs, type Creds } from './account-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const CAROL: Creds = { user: 'carol', password: 'carol-password-1' };
const DAVE: Creds = { user: 'dave', password: 'dave-password-1' };
const ROOT: Creds = { user: 'root', password: 'root-password-1' };

describe(`/api/v1 organizations and teams (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB, CAROL, DAVE]) {
      await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    }
    await server.cli('admin', 'create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
  });
  after(async () => server?.stop());

  describe('POST /organization/', () => {
    it('creates an organization whose creator is in its owners team', async () => {
      const res = await call(server, ALICE, 'POST', '/organization/', { name: 'acme', email: 'ops@acme.example' });
      assert.equal(res.status, 201);
      assert.equal(res.body, 'Created');
      const org = await call(server, ALICE, 'GET', '/organization/acme');
      assert.equal(org.status, 200);
      assert.equal(org.body.is_admin, true);
      assert.equal(org.body.email, 'ops@acme.example');
      assert.deepEqual(org.body.ordered_teams, ['owners']);
      assert.equal(org.body.teams.owners.role, 'admin');
      assert.equal(org.body.teams.owners.member_count, 1);
      const members = await call(server, ALICE, 'GET', '/organization/acme/team/owners/members');
      assert.deepEqual(members.body.members.map((m: { name: string }) => m.name), ['alice']);
    });

    it('refuses invalid names with 400 naming name, and taken names with 409', async () => {
      for (const name of ['a', 'Acme', 'bad name', '-acme', 'acme-', 'a+b', 'x'.repeat(256), '']) {
        const res = await call(server, ALICE, 'POST', '/organization/', { name });
        assert.equal(res.status, 400, name);
        assert.equal(res.body.field, 'name', name);
      }
      for (const name of ['acme', 'bob']) {
        const res = await call(server, ALICE, 'POST', '/organization/', { name });
        assert.equal(res.status, 409, name);
        assert.equal(res.body.field, 'name');
      }
      const badEmail = await call(server, ALICE, 'POST', '/organization/', { name: 'okorg', email: 'nope' });
      assert.equal(badEmail.body.field, 'email');
      assert.equal((await call(server, null, 'POST', '/organization/', { name: 'anonorg' })).status, 401);
      assert.equal((await call(server, ALICE, 'GET', '/organization/okorg')).status, 404, 'nothing was half-created');
    });
  });

  describe('teams', () => {
    it('creates a team and updates it (PUT), Quay-shaped', async () => {
      const created = await call(server, ALICE, 'PUT', '/organization/acme/team/builders', { role: 'creator', description: 'they push' });
      assert.equal(created.status, 200);
      assert.equal(created.body.name, 'builders');
      assert.equal(created.body.role, 'creator');
      assert.equal(created.body.description, 'they push');
      assert.equal(created.body.new_team, true);
      assert.equal(created.body.can_view, true);
      const updated = await call(server, ALICE, 'PUT', '/organization/acme/team/builders', { role: 'creator', description: 'they build and push' });
      assert.equal(updated.body.new_team, false);
      assert.equal(updated.body.description, 'they build and push');
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/readers', { role: 'member' })).status, 200);
    });

    it('refuses unknown roles, invalid team names, non-admins (403) and outsiders (404)', async () => {
      const role = await call(server, ALICE, 'PUT', '/organization/acme/team/ops', { role: 'owner' });
      assert.equal(role.status, 400);
      assert.equal(role.body.field, 'role');
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/ops', {})).body.field, 'role');
      const name = await call(server, ALICE, 'PUT', '/organization/acme/team/Bad%20Team', { role: 'member' });
      assert.equal(name.status, 400);
      assert.equal(name.body.field, 'teamname');
      const noOrg = await call(server, ALICE, 'PUT', '/organization/nosuchorg/team/x1', { role: 'member' });
      assert.deepEqual([noOrg.status, noOrg.body.field], [404, 'orgname']);
      assert.equal((await call(server, ALICE, 'PUT', '/organization/bob/team/x1', { role: 'member' })).status, 404, 'a user is no organization');
      assert.equal((await call(server, CAROL, 'PUT', '/organization/acme/team/ops', { role: 'member' })).status, 404);
      assert.equal((await call(server, null, 'PUT', '/organization/acme/team/ops', { role: 'member' })).status, 401);
      assert.equal(Object.keys((await call(server, ALICE, 'GET', '/organization/acme')).body.teams).includes('ops'), false);
    });

    it('adds a user to a creator team, which lets them push new repositories into the organization', async () => {
      assert.deepEqual((await grantedActions(server, BOB, 'repository:acme/fresh:push,pull')).actions, []);
      const res = await call(server, ALICE, 'PUT', '/organization/acme/team/builders/members/bob');
      assert.equal(res.status, 200);
      assert.deepEqual({ name: res.body.name, kind: res.body.kind, is_robot: res.body.is_robot }, { name: 'bob', kind: 'user', is_robot: false });
      assert.deepEqual((await grantedActions(server, BOB, 'repository:acme/fresh:push,pull')).actions.sort(), ['pull', 'push']);
      // Adding again changes nothing.
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/builders/members/bob')).status, 200);
      const members = await call(server, ALICE, 'GET', '/organization/acme/team/builders/members');
      assert.deepEqual(members.body.members.map((m: { name: string }) => m.name), ['bob']);
    });

    it('adds the organization\'s robots but refuses robots of another namespace, organizations and unknown accounts', async () => {
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/robots/deployer')).status, 201);
      const robot = await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/acme+deployer');
      assert.equal(robot.status, 200);
      assert.equal(robot.body.is_robot, true);
      assert.equal((await call(server, DAVE, 'PUT', '/user/robots/helper')).status, 201);
      const foreign = await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/dave+helper');
      assert.equal(foreign.status, 400);
      assert.equal(foreign.body.field, 'membername');
      const org = await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/acme');
      assert.equal(org.status, 400);
      assert.equal(org.body.field, 'membername');
      for (const team of ['readers', 'owners']) {
        const nobody = await call(server, ALICE, 'PUT', `/organization/acme/team/${team}/members/nobody`);
        assert.equal(nobody.status, 404, team);
        assert.equal(nobody.body.field, 'membername', team);
        assert.match(nobody.body.error_message, /nobody/);
      }
      const noTeam = await call(server, ALICE, 'PUT', '/organization/acme/team/noteam/members/bob');
      assert.equal(noTeam.status, 404);
      assert.equal(noTeam.body.field, 'teamname');
      assert.equal((await call(server, BOB, 'PUT', '/organization/acme/team/readers/members/carol')).status, 403);
      const members = async (team: string) => (await call(server, ALICE, 'GET', `/organization/acme/team/${team}/members`)).body.members.map((m: { name: string }) => m.name);
      assert.deepEqual(await members('readers'), ['acme+deployer'], 'nothing was added');
      assert.deepEqual(await members('owners'), ['alice']);
      assert.equal(Object.keys((await call(server, ALICE, 'GET', '/organization/acme')).body.teams).includes('noteam'), false);
    });

    it('shows a team\'s members to admins and to its members only', async () => {
      await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/carol');
      const asMember = await call(server, BOB, 'GET', '/organization/acme/team/builders/members');
      assert.equal(asMember.status, 200);
      assert.equal(asMember.body.can_edit, false);
      assert.equal((await call(server, BOB, 'GET', '/organization/acme/team/readers/members')).status, 403);
      assert.equal((await call(server, DAVE, 'GET', '/organization/acme/team/readers/members')).status, 404);
      assert.equal((await call(server, null, 'GET', '/organization/acme/team/readers/members')).status, 401);
      const asAdmin = await call(server, ALICE, 'GET', '/organization/acme/team/readers/members');
      assert.deepEqual(asAdmin.body.members.map((m: { name: string; is_robot: boolean }) => [m.name, m.is_robot]), [['acme+deployer', true], ['carol', false]]);
    });

    it('removes members; the organization must keep an administrator', async () => {
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/team/readers/members/carol')).status, 204);
      const again = await call(server, ALICE, 'DELETE', '/organization/acme/team/readers/members/carol');
      assert.equal(again.status, 404);
      assert.equal(again.body.field, 'membername');
      const last = await call(server, ALICE, 'DELETE', '/organization/acme/team/owners/members/alice');
      assert.equal(last.status, 409);
      assert.match(last.body.error_message, /at least one administrator/);
      const demote = await call(server, ALICE, 'PUT', '/organization/acme/team/owners', { role: 'member' });
      assert.equal(demote.status, 409);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/team/owners')).status, 409);
      const org = await call(server, ALICE, 'GET', '/organization/acme');
      assert.equal(org.body.teams.owners.role, 'admin', 'the refused changes left owners alone');
      assert.equal(org.body.teams.owners.member_count, 1);
    });

    it('deletes a team and what its members could do through it', async () => {
      assert.equal((await call(server, BOB, 'DELETE', '/organization/acme/team/builders')).status, 403);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/team/builders')).status, 204);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/team/builders')).status, 404);
      assert.deepEqual((await grantedActions(server, BOB, 'repository:acme/fresh:push,pull')).actions, []);
      assert.equal((await call(server, BOB, 'GET', '/organization/acme')).status, 404, 'bob is no longer a member');
    });
  });

  describe('GET/PUT/DELETE /organization/{org}', () => {
    before(async () => {
      await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/bob');
    });

    it('shows members the teams with their counts, admins the email and settings; hides the org from others', async () => {
      const asBob = await call(server, BOB, 'GET', '/organization/acme');
      assert.equal(asBob.status, 200);
      assert.equal(asBob.body.is_admin, false);
      assert.equal(asBob.body.is_member, true);
      assert.equal(asBob.body.email, '');
      assert.equal(asBob.body.tag_expiration_s, undefined);
      assert.equal(asBob.body.teams.readers.member_count, 2);
      assert.equal(asBob.body.teams.readers.can_view, true);
      assert.equal(asBob.body.teams.owners.can_view, false);
      assert.equal((await call(server, CAROL, 'GET', '/organization/acme')).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/organization/nosuchorg')).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/organization/alice')).status, 404);
      assert.equal((await call(server, null, 'GET', '/organization/acme')).status, 401);
    });

    it('lets admins change the email and the time machine setting', async () => {
      const res = await call(server, ALICE, 'PUT', '/organization/acme', { email: 'team@acme.example', tag_expiration_s: 86400 });
      assert.equal(res.status, 200);
      assert.equal(res.body.email, 'team@acme.example');
      assert.equal(res.body.tag_expiration_s, 86400);
      const bad = await call(server, ALICE, 'PUT', '/organization/acme', { email: 'other@acme.example', tag_expiration_s: 99 });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, 'tag_expiration_s');
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme', { name: 'renamed' })).body.field, 'name');
      assert.equal((await call(server, BOB, 'PUT', '/organization/acme', { email: 'bob@acme.example' })).status, 403);
      assert.equal((await call(server, CAROL, 'PUT', '/organization/acme', { email: 'carol@acme.example' })).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme')).body.email, 'team@acme.example');
    });

    it('deletes the organization with its teams and robots, by an admin only', async () => {
      const robot = await call(server, ALICE, 'GET', '/organization/acme/robots/deployer');
      const robotLogin = () => fetch(`${server.url}/v2/auth?service=${server.host}`, { headers: { authorization: basic('acme+deployer', robot.body.token) } });
      assert.equal((await robotLogin()).status, 200);
      assert.equal((await call(server, BOB, 'DELETE', '/organization/acme')).status, 403);
      assert.equal((await call(server, null, 'DELETE', '/organization/acme')).status, 401);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme')).status, 204);
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme')).status, 404);
      assert.equal((await robotLogin()).status, 401);
      assert.deepEqual((await call(server, BOB, 'GET', '/user/')).body.organizations, []);
      // The name is free again.
      assert.equal((await call(server, BOB, 'POST', '/organization/', { name: 'acme' })).status, 201);
    });
  });

  describe('OAuth tokens', () => {
    it('can do no more than their scopes allow', async () => {
      const app = await call(server, BOB, 'POST', '/organization/acme/applications', { name: 'cli' });
      assert.equal(app.status, 200, JSON.stringify(app.body));
      const mint = async (scope: string) => {
        const res = await call(server, BOB, 'POST', `/organization/acme/applications/${app.body.client_id}/tokens`, { name: scope, scope });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return { token: res.body.token as string };
      };
      const readOnly = await mint('user:read');
      const orgAdmin = await mint('org:admin');
      assert.equal((await call(server, readOnly, 'GET', '/user/')).status, 200);
      assert.equal((await call(server, readOnly, 'GET', '/organization/acme')).body.is_admin, false);
      assert.equal((await call(server, readOnly, 'PUT', '/organization/acme/team/deploy', { role: 'member' })).status, 403);
      assert.equal((await call(server, readOnly, 'PUT', '/organization/acme/robots/tokenbot')).status, 403);
      assert.equal((await call(server, orgAdmin, 'PUT', '/organization/acme/team/deploy', { role: 'member' })).status, 200);
      assert.equal((await call(server, orgAdmin, 'PUT', '/organization/acme/robots/tokenbot')).status, 201);
      assert.equal((await call(server, orgAdmin, 'PUT', '/user/robots/tokenbot')).status, 403, 'user robots need user:admin');
      assert.equal((await call(server, orgAdmin, 'POST', '/organization/', { name: 'tokenorg' })).status, 403, 'creating an organization needs user:admin');
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one goes last as a suite of its own.
  describe('usage logs', () => {
    it('records every change in the usage logs, with its performer, and nothing for refused ones', async () => {
      const logs = await usageLogs(server, ROOT);
      assert.deepEqual(entriesOf(logs, 'org_create', 'email'), ['alice@acme ops@acme.example', 'bob@acme null']);
      assert.deepEqual(entriesOf(logs, 'org_create_team', 'team', 'role'), [
        'alice@acme builders creator', 'alice@acme readers member', 'bob@acme deploy member',
      ]);
      assert.deepEqual(entriesOf(logs, 'org_set_team_description', 'team', 'description'), ['alice@acme builders they build and push']);
      assert.deepEqual(entriesOf(logs, 'org_set_team_role'), [], 'the refused demotion of owners left no entry');
      assert.deepEqual(entriesOf(logs, 'org_add_team_member', 'team', 'member'), [
        'alice@acme builders bob', 'alice@acme readers acme+deployer', 'alice@acme readers carol', 'alice@acme readers bob',
      ]);
      assert.deepEqual(entriesOf(logs, 'org_remove_team_member', 'team', 'member'), ['alice@acme readers carol']);
      assert.deepEqual(entriesOf(logs, 'org_delete_team', 'team'), ['alice@acme builders']);
      assert.deepEqual(entriesOf(logs, 'org_change_email', 'email', 'old_email'), ['alice@acme team@acme.example ops@acme.example']);
      assert.deepEqual(entriesOf(logs, 'org_change_tag_expiration', 'tag_expiration'), ['alice@acme 86400']);
      assert.deepEqual(entriesOf(logs, 'org_delete'), ['alice@acme']);
    });
  });
});
