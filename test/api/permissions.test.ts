import assert from 'node:assert/strict';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, grantedActions, type Creds } from './account-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const CAROL: Creds = { user: 'carol', password: 'carol-password-3' };

interface LogLine {
  kind: string;
  performer?: { name: string };
  metadata: Record<string, unknown>;
}

describe(`/api/v1 repository permissions (${TEST_DB})`, function () {
  let server: TestServer;
  let robot: Creds;

  const repoLogs = async (repo: string): Promise<LogLine[]> => (await call(server, ALICE, 'GET', `/repository/${repo}/logs`)).body.logs;

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    for (const u of [ALICE, BOB, CAROL]) await admin('create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await admin('create-org', 'acme', '--owner', ALICE.user);
    robot = { user: 'acme+bot', password: await admin('create-robot', 'acme+bot') };
    await admin('create-robot', 'bob+bot');
    for (const name of ['app', 'tag', 'build', 'team/build']) {
      const res = await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: name, visibility: 'private' });
      assert.equal(res.status, 201);
    }
    await call(server, BOB, 'POST', '/repository', { repository: 'own', visibility: 'private' });
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/readers', { role: 'member' })).status, 200);
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/carol', {})).status, 200);
  });
  after(async () => server?.stop());

  describe('users', () => {
    it('adds, changes, shows and removes a user\'s role, and the role takes effect', async () => {
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/app')).status, 404);
      const added = await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/user/bob', { role: 'read' });
      assert.equal(added.status, 200);
      assert.equal(added.body.role, 'read');
      assert.equal(added.body.name, 'bob');
      assert.equal(added.body.is_robot, false);
      assert.equal(added.body.is_org_member, false);
      assert.equal(added.body.avatar.kind, 'user');
      const asReader = await call(server, BOB, 'GET', '/repository/acme/app');
      assert.equal(asReader.status, 200);
      assert.equal(asReader.body.can_write, false);
      assert.deepEqual((await grantedActions(server, BOB, 'repository:acme/app:pull,push')).actions, ['pull']);

      assert.equal((await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/user/bob', { role: 'write' })).body.role, 'write');
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/app')).body.can_write, true);
      assert.deepEqual((await grantedActions(server, BOB, 'repository:acme/app:pull,push')).actions, ['pull', 'push']);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/bob')).body.role, 'write');
      const list = await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/');
      assert.equal(list.status, 200);
      assert.equal(list.body.permissions.bob.role, 'write');
      // The creator (an org admin, not the namespace) holds an admin row, as in Quay.
      assert.equal(list.body.permissions.alice.role, 'admin');
      assert.equal(list.body.permissions.alice.is_org_member, true);

      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/app/permissions/user/bob')).status, 204);
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/app')).status, 404);
      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/app/permissions/user/bob')).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/bob')).status, 404);

      const kinds = (await repoLogs('acme/app')).filter((l) => String(l.kind).includes('repo_permission'));
      assert.deepEqual(kinds.map((l) => l.kind).reverse(), ['add_repo_permission', 'change_repo_permission', 'delete_repo_permission']);
      assert.ok(kinds.every((l) => l.performer?.name === 'alice' && l.metadata.username === 'bob'));
    });

    it('gives robots of the namespace roles, which their registry tokens then carry', async () => {
      const res = await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/user/acme+bot', { role: 'read' });
      assert.equal(res.status, 200);
      assert.equal(res.body.is_robot, true);
      assert.equal(res.body.is_org_member, true);
      assert.deepEqual((await grantedActions(server, robot, 'repository:acme/app:pull,push')).actions, ['pull']);
      const list = await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/');
      assert.equal(list.body.permissions['acme+bot'].role, 'read');
    });

    it('refuses robots of other namespaces and unknown roles with 400 naming the field, unknown accounts with 404', async () => {
      const cases: [string, unknown, number, string | undefined][] = [
        ['bob+bot', { role: 'read' }, 400, 'username'],
        ['bob', { role: 'owner' }, 400, 'role'],
        ['bob', {}, 400, 'role'],
        ['nobody', { role: 'read' }, 404, 'username'],
        ['acme+ghost', { role: 'read' }, 404, 'username'],
        ['acme', { role: 'read' }, 404, 'username'],
      ];
      for (const [name, body, status, field] of cases) {
        const res = await call(server, ALICE, 'PUT', `/repository/acme/app/permissions/user/${name}`, body);
        assert.equal(res.status, status, `${name} ${JSON.stringify(body)}`);
        assert.equal(res.body.field, field, `${name} ${JSON.stringify(body)}`);
      }
      const list = await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/');
      assert.deepEqual(Object.keys(list.body.permissions).sort(), ['acme+bot', 'alice']);
      for (const method of ['GET', 'DELETE']) {
        const res = await call(server, ALICE, method, '/repository/acme/app/permissions/user/carol');
        assert.equal(res.status, 404, method);
        assert.equal(res.body.field, 'username', method);
      }
    });
  });

  describe('teams', () => {
    it('gives a team of the organization a role, which its members then hold', async () => {
      assert.equal((await call(server, CAROL, 'GET', '/repository/acme/app')).status, 404);
      const res = await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/team/readers', { role: 'read' });
      assert.equal(res.status, 200);
      assert.deepEqual([res.body.name, res.body.role, res.body.avatar.kind], ['readers', 'read', 'team']);
      assert.equal((await call(server, CAROL, 'GET', '/repository/acme/app')).status, 200);
      assert.equal((await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/team/readers', { role: 'write' })).body.role, 'write');
      assert.equal((await call(server, CAROL, 'GET', '/repository/acme/app')).body.can_write, true);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/team/readers')).body.role, 'write');
      const list = await call(server, ALICE, 'GET', '/repository/acme/app/permissions/team/');
      assert.deepEqual(Object.keys(list.body.permissions), ['readers']);
      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/app/permissions/team/readers')).status, 204);
      assert.equal((await call(server, CAROL, 'GET', '/repository/acme/app')).status, 404);
      assert.deepEqual((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/team/')).body.permissions, {});
      const kinds = (await repoLogs('acme/app')).filter((l) => l.metadata.team === 'readers').map((l) => l.kind);
      assert.deepEqual(kinds.reverse(), ['add_repo_permission', 'change_repo_permission', 'delete_repo_permission']);
    });

    it('refuses unknown teams with 404 naming teamname, including teams asked for in a user namespace', async () => {
      const cases: [Creds, string, string, unknown?][] = [
        [ALICE, 'PUT', '/repository/acme/app/permissions/team/ghosts', { role: 'read' }],
        [ALICE, 'GET', '/repository/acme/app/permissions/team/ghosts'],
        [ALICE, 'GET', '/repository/acme/app/permissions/team/readers'],
        [ALICE, 'DELETE', '/repository/acme/app/permissions/team/readers'],
        [BOB, 'PUT', '/repository/bob/own/permissions/team/readers', { role: 'read' }],
      ];
      for (const [who, method, path, body] of cases) {
        const res = await call(server, who, method, path, body);
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.body.field, 'teamname', `${method} ${path}`);
      }
      assert.deepEqual((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/team/')).body.permissions, {});
      assert.deepEqual((await call(server, BOB, 'GET', '/repository/bob/own/permissions/team/')).body.permissions, {});
      assert.equal((await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/team/readers', { role: 'boss' })).body.field, 'role');
    });
  });

  describe('access and routing', () => {
    it('needs admin on the repository: 403 for a writer, 404 for outsiders, 401 for nobody', async () => {
      await call(server, ALICE, 'PUT', '/repository/acme/app/permissions/user/bob', { role: 'write' });
      const paths: [string, string, unknown?][] = [
        ['GET', '/repository/acme/app/permissions/user/'],
        ['GET', '/repository/acme/app/permissions/user/bob'],
        ['PUT', '/repository/acme/app/permissions/user/carol', { role: 'admin' }],
        ['DELETE', '/repository/acme/app/permissions/user/bob'],
        ['GET', '/repository/acme/app/permissions/team/'],
        ['PUT', '/repository/acme/app/permissions/team/readers', { role: 'admin' }],
      ];
      for (const [method, path, body] of paths) {
        assert.equal((await call(server, BOB, method, path, body)).status, 403, `bob ${method} ${path}`);
        assert.equal((await call(server, CAROL, method, path, body)).status, 404, `carol ${method} ${path}`);
        assert.equal((await call(server, null, method, path, body)).status, 401, `anonymous ${method} ${path}`);
      }
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/app/permissions/user/carol')).status, 404, 'nothing was granted');
      await call(server, ALICE, 'DELETE', '/repository/acme/app/permissions/user/bob');
    });

    it('resolves sub-paths of repositories named tag, build and team/build', async () => {
      for (const repo of ['acme/tag', 'acme/build', 'acme/team/build']) {
        const base = `/repository/${repo}/permissions`;
        assert.equal((await call(server, ALICE, 'PUT', `${base}/user/bob`, { role: 'read' })).status, 200, repo);
        assert.equal((await call(server, ALICE, 'PUT', `${base}/team/readers`, { role: 'write' })).status, 200, repo);
        assert.equal((await call(server, ALICE, 'GET', `${base}/user/bob`)).body.role, 'read', repo);
        assert.equal((await call(server, ALICE, 'GET', `${base}/team/readers`)).body.role, 'write', repo);
        // Without the trailing slash, the list is still the list (not a repository named …/permissions/user).
        assert.deepEqual(Object.keys((await call(server, ALICE, 'GET', `${base}/user`)).body.permissions).sort(), ['alice', 'bob'], repo);
        const view = await call(server, BOB, 'GET', `/repository/${repo}`);
        assert.equal(view.status, 200, repo);
        assert.equal(view.body.name, repo.slice('acme/'.length));
        assert.equal(view.body.can_write, false, repo);
        assert.equal((await call(server, CAROL, 'GET', `/repository/${repo}`)).body.can_write, true, repo);
        assert.equal((await call(server, ALICE, 'DELETE', `${base}/user/bob`)).status, 204, repo);
        assert.equal((await call(server, BOB, 'GET', `/repository/${repo}`)).status, 404, repo);
      }
    });
  });
});
