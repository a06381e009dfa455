import assert from 'node:assert/strict';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, entriesOf, usageLogs, type Creds } from './account-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const CAROL: Creds = { user: 'carol', password: 'carol-password-1' };
const ROOT: Creds = { user: 'root', password: 'root-password-1' };

/** GET /v2/auth with the robot's token: 200 when it logs in, 401 otherwise. */
async function robotLogin(server: TestServer, name: string, token: string): Promise<Response> {
  return fetch(`${server.url}/v2/auth?service=${server.host}`, { headers: { authorization: basic(name, token) } });
}

describe(`/api/v1 robot accounts (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB, CAROL]) {
      await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    }
    await server.cli('admin', 'create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    await server.cli('admin', 'create-repo', 'acme/app', '--private');
    await server.cli('admin', 'create-repo', 'acme/site', '--public');
    await call(server, ALICE, 'PUT', '/organization/acme/team/readers', { role: 'member' });
    await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/bob');
  });
  after(async () => server?.stop());

  describe('user robots (/user/robots)', () => {
    it('creates a robot whose token logs in at the registry', async () => {
      const res = await call(server, ALICE, 'PUT', '/user/robots/ci', { description: 'my CI', unstructured_metadata: { team: 'platform' } });
      assert.equal(res.status, 201);
      assert.equal(res.body.name, 'alice+ci');
      assert.equal(res.body.description, 'my CI');
      assert.deepEqual(res.body.unstructured_metadata, { team: 'platform' });
      assert.equal(res.body.last_accessed, null);
      assert.match(res.body.token, /^\S{20,}$/);
      assert.equal((await robotLogin(server, 'alice+ci', res.body.token)).status, 200);
      const shown = await call(server, ALICE, 'GET', '/user/robots/ci');
      assert.equal(shown.body.token, res.body.token);
      assert.notEqual(shown.body.last_accessed, null, 'the login was recorded');
    });

    it('creates a robot without a body', async () => {
      const res = await call(server, ALICE, 'PUT', '/user/robots/bare');
      assert.equal(res.status, 201);
      assert.equal(res.body.description, '');
    });

    it('refuses duplicates (409), invalid names and bodies (400), anonymous callers (401)', async () => {
      const dup = await call(server, ALICE, 'PUT', '/user/robots/ci');
      assert.equal(dup.status, 409);
      for (const short of ['Bad', '1abc', 'a', 'has-dash', 'x'.repeat(256)]) {
        const res = await call(server, ALICE, 'PUT', `/user/robots/${short}`);
        assert.equal(res.status, 400, short);
        assert.equal(res.body.field, 'robot_shortname', short);
      }
      assert.equal((await call(server, ALICE, 'PUT', '/user/robots/longdesc', { description: 'x'.repeat(256) })).body.field, 'description');
      assert.equal((await call(server, ALICE, 'PUT', '/user/robots/meta', { unstructured_metadata: 'text' })).body.field, 'unstructured_metadata');
      assert.equal((await call(server, null, 'PUT', '/user/robots/anon')).status, 401);
      assert.equal((await call(server, null, 'GET', '/user/robots')).status, 401);
      assert.equal((await call(server, ALICE, 'GET', '/user/robots/longdesc')).status, 404, 'nothing was created');
    });

    it('lists the robots, with tokens only when asked for', async () => {
      const plain = await call(server, ALICE, 'GET', '/user/robots');
      assert.equal(plain.status, 200);
      assert.deepEqual(plain.body.robots.map((r: { name: string }) => r.name), ['alice+bare', 'alice+ci']);
      assert.equal(plain.body.robots[0].token, undefined);
      const withTokens = await call(server, ALICE, 'GET', '/user/robots?token=true');
      assert.match(withTokens.body.robots[1].token, /^\S{20,}$/);
      assert.deepEqual((await call(server, BOB, 'GET', '/user/robots')).body.robots, [], 'each user sees their own');
      assert.equal((await call(server, BOB, 'GET', '/user/robots/ci')).status, 404);
    });
  });

  describe('organization robots (/organization/{org}/robots)', () => {
    let token = '';

    it('lets admins create a robot; members get 403, outsiders 404', async () => {
      const res = await call(server, ALICE, 'PUT', '/organization/acme/robots/builder', { description: 'builds' });
      assert.equal(res.status, 201);
      assert.equal(res.body.name, 'acme+builder');
      token = res.body.token;
      assert.equal((await call(server, BOB, 'PUT', '/organization/acme/robots/sneaky')).status, 403);
      assert.equal((await call(server, CAROL, 'PUT', '/organization/acme/robots/sneaky')).status, 404);
      assert.equal((await call(server, ALICE, 'PUT', '/organization/nosuchorg/robots/x1')).status, 404);
      assert.equal((await call(server, ALICE, 'PUT', '/organization/bob/robots/x1')).status, 404, 'a user is no organization');
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/robots/builder')).status, 409);
    });

    it('lists robots with their teams and repositories; tokens to admins only', async () => {
      await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/acme+builder');
      await server.cli('admin', 'grant', 'acme/app', 'acme+builder', 'write');
      const res = await call(server, ALICE, 'GET', '/organization/acme/robots?token=true');
      assert.equal(res.status, 200);
      const builder = res.body.robots.find((r: { name: string }) => r.name === 'acme+builder');
      assert.deepEqual(builder.teams.map((t: { name: string }) => t.name), ['readers']);
      assert.deepEqual(builder.repositories, ['app']);
      assert.equal(builder.token, token);
      assert.equal(builder.description, 'builds');
      const asMember = await call(server, BOB, 'GET', '/organization/acme/robots?token=true');
      assert.equal(asMember.status, 200);
      assert.equal(asMember.body.robots[0].token, undefined, 'members never see tokens');
      assert.equal((await call(server, BOB, 'GET', '/organization/acme/robots/builder')).body.token, undefined);
      assert.equal((await call(server, CAROL, 'GET', '/organization/acme/robots')).status, 404);
      assert.equal((await call(server, null, 'GET', '/organization/acme/robots')).status, 401);
    });

    it('shows a robot\'s repository permissions to admins', async () => {
      const res = await call(server, ALICE, 'GET', '/organization/acme/robots/builder/permissions');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.permissions, [{ repository: { name: 'app', is_public: false }, role: 'write' }]);
      assert.equal((await call(server, BOB, 'GET', '/organization/acme/robots/builder/permissions')).status, 403);
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme/robots/ghost/permissions')).status, 404);
    });

    it('regenerates the token: the old one stops working at once', async () => {
      assert.equal((await robotLogin(server, 'acme+builder', token)).status, 200);
      assert.equal((await call(server, BOB, 'POST', '/organization/acme/robots/builder/regenerate')).status, 403);
      const res = await call(server, ALICE, 'POST', '/organization/acme/robots/builder/regenerate');
      assert.equal(res.status, 200);
      assert.equal(res.body.name, 'acme+builder');
      assert.notEqual(res.body.token, token);
      const old = await robotLogin(server, 'acme+builder', token);
      assert.equal(old.status, 401);
      assert.equal(((await old.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAUTHORIZED');
      assert.equal((await robotLogin(server, 'acme+builder', res.body.token)).status, 200);
      token = res.body.token;
      assert.equal((await call(server, ALICE, 'POST', '/organization/acme/robots/ghost/regenerate')).status, 404);
    });

    it('deletes a robot with its memberships and permissions', async () => {
      assert.equal((await call(server, BOB, 'DELETE', '/organization/acme/robots/builder')).status, 403);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/robots/builder')).status, 204);
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme/robots/builder')).status, 404);
      assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/robots/builder')).status, 404);
      assert.equal((await robotLogin(server, 'acme+builder', token)).status, 401);
      const members = await call(server, ALICE, 'GET', '/organization/acme/team/readers/members');
      assert.deepEqual(members.body.members.map((m: { name: string }) => m.name), ['bob']);
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one goes last as a suite of its own.
  describe('usage logs', () => {
    it('records every change in the usage logs, with its performer, and nothing for refused ones', async () => {
      const logs = await usageLogs(server, ROOT);
      assert.deepEqual(entriesOf(logs, 'create_robot', 'robot', 'description'), [
        'alice@alice ci my CI', 'alice@alice bare null', 'alice@acme builder builds',
      ]);
      assert.deepEqual(logs.find((l) => l.kind === 'create_robot')!.metadata.unstructured_metadata, { team: 'platform' });
      assert.deepEqual(entriesOf(logs, 'regenerate_robot_token', 'robot'), ['alice@acme builder']);
      assert.deepEqual(entriesOf(logs, 'delete_robot', 'robot'), ['alice@acme builder']);
    });
  });

  describe('ROBOTS_DISALLOW', () => {
    let closed: TestServer;
    let token = '';
    const MESSAGE = 'Robot accounts have been disabled. Please contact your administrator.';

    before(async () => {
      closed = await startServer({ config: { ROBOTS_DISALLOW: true } });
      await closed.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
      // Made behind the API's back, as if it existed before robots were switched off.
      token = await closed.cli('admin', 'create-robot', 'alice+old');
    });
    after(async () => closed?.stop());

    it('refuses robot creation with Quay\'s message', async () => {
      const res = await call(closed, ALICE, 'PUT', '/user/robots/newbot');
      assert.equal(res.status, 400);
      assert.equal(res.body.error_message, MESSAGE);
      assert.equal((await call(closed, ALICE, 'GET', '/user/robots/newbot')).status, 404);
    });

    it('refuses robot logins at /v2/auth and with Basic on /v2/', async () => {
      for (const res of [await robotLogin(closed, 'alice+old', token), await fetch(`${closed.url}/v2/`, { headers: { authorization: basic('alice+old', token) } })]) {
        assert.equal(res.status, 401);
        const body = (await res.json()) as { errors: { code: string; message: string }[] };
        assert.equal(body.errors[0]!.code, 'UNAUTHORIZED');
        assert.equal(body.errors[0]!.message, MESSAGE);
      }
      // Users are not affected.
      assert.equal((await fetch(`${closed.url}/v2/`, { headers: { authorization: basic(ALICE.user, ALICE.password) } })).status, 200);
    });
  });
});
