import assert from 'node:assert/strict';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, entriesOf, usageLogs, type Creds } from './account-api.js';

const ROOT: Creds = { user: 'root', password: 'root-password-1' };
const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };

describe(`/api/v1 users and the superuser user panel (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { FEATURE_USER_CREATION: true } });
    const admin = (...args: string[]) => server.cli('admin', ...args);
    await admin('create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await admin('create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await admin('create-user', BOB.user, '--email', 'bob@example.com', '--password', BOB.password);
    await admin('create-org', 'acme', '--owner', ALICE.user);
  });
  after(async () => server?.stop());

  describe('GET /user/', () => {
    it('refuses anonymous callers with 401 and bad passwords with 401', async () => {
      assert.equal((await call(server, null, 'GET', '/user/')).status, 401);
      assert.equal((await call(server, { user: 'alice', password: 'wrong-password' }, 'GET', '/user/')).status, 401);
    });

    it('shows the user with the organizations it belongs to', async () => {
      const res = await call(server, ALICE, 'GET', '/user/');
      assert.equal(res.status, 200);
      assert.equal(res.body.username, 'alice');
      assert.equal(res.body.email, 'alice@example.com');
      assert.equal(res.body.super_user, false);
      assert.deepEqual(res.body.organizations.map((o: { name: string }) => o.name), ['acme']);
      assert.equal(res.body.organizations[0].is_org_admin, true);
      assert.equal(res.body.organizations[0].can_create_repo, true);
      const bob = await call(server, BOB, 'GET', '/user/');
      assert.deepEqual(bob.body.organizations, []);
    });
  });

  describe('POST /user/ (registration)', () => {
    it('creates a user who can then sign in', async () => {
      const res = await call(server, null, 'POST', '/user/', { username: 'newbie', password: 'newbie-password', email: 'newbie@example.com' });
      assert.equal(res.status, 200);
      assert.equal(res.body.username, 'newbie');
      const me = await call(server, { user: 'newbie', password: 'newbie-password' }, 'GET', '/user/');
      assert.equal(me.status, 200);
      assert.equal(me.body.email, 'newbie@example.com');
    });

    it('refuses bad input with 400 naming the field, and taken names with 409', async () => {
      const cases: [unknown, number, string][] = [
        [{ username: 'Bad Name', password: 'long-enough-1', email: 'x@example.com' }, 400, 'username'],
        [{ username: 'x', password: 'long-enough-1', email: 'x@example.com' }, 400, 'username'],
        [{ username: 'ok+robot', password: 'long-enough-1', email: 'x@example.com' }, 400, 'username'],
        [{ username: 'okname', password: 'short', email: 'x@example.com' }, 400, 'password'],
        [{ username: 'okname', password: 'long-enough-1', email: 'not-an-email' }, 400, 'email'],
        [{ username: 'okname', password: 'long-enough-1' }, 400, 'email'],
        [{ username: 'okname', password: 'long-enough-1', email: 'x@example.com', admin: true }, 400, 'admin'],
        [{ username: 'alice', password: 'long-enough-1', email: 'x@example.com' }, 409, 'username'],
        [{ username: 'acme', password: 'long-enough-1', email: 'x@example.com' }, 409, 'username'],
      ];
      for (const [body, status, field] of cases) {
        const res = await call(server, null, 'POST', '/user/', body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal(res.body.field, field, JSON.stringify(body));
      }
      assert.equal((await call(server, { user: 'okname', password: 'long-enough-1' }, 'GET', '/user/')).status, 401, 'nothing was created');
    });

    it('is not offered when FEATURE_USER_CREATION is off (the default)', async () => {
      const closed = await startServer();
      try {
        const res = await call(closed, null, 'POST', '/user/', { username: 'newbie', password: 'newbie-password', email: 'n@example.com' });
        assert.equal(res.status, 404);
        assert.match(res.body.error_message, /FEATURE_USER_CREATION/);
      } finally {
        await closed.stop();
      }
    });
  });

  describe('PUT /user/', () => {
    const CAROL: Creds = { user: 'carol', password: 'carol-password-1' };
    before(async () => {
      await server.cli('admin', 'create-user', CAROL.user, '--email', 'carol@example.com', '--password', CAROL.password);
    });

    it('changes the password: the old one stops working, the new one works', async () => {
      const res = await call(server, CAROL, 'PUT', '/user/', { password: 'carol-password-2' });
      assert.equal(res.status, 200);
      assert.equal((await call(server, CAROL, 'GET', '/user/')).status, 401);
      CAROL.password = 'carol-password-2';
      assert.equal((await call(server, CAROL, 'GET', '/user/')).status, 200);
      // The registry takes the new password too.
      const v2 = await fetch(`${server.url}/v2/`, { headers: { authorization: basic(CAROL.user, CAROL.password) } });
      assert.equal(v2.status, 200);
    });

    it('changes the email and the time machine setting to one of TAG_EXPIRATION_OPTIONS', async () => {
      const res = await call(server, CAROL, 'PUT', '/user/', { email: 'carol@new.example', tag_expiration_s: 604800 });
      assert.equal(res.status, 200);
      assert.equal(res.body.email, 'carol@new.example');
      assert.equal(res.body.tag_expiration_s, 604800);
      const again = await call(server, CAROL, 'GET', '/user/');
      assert.equal(again.body.tag_expiration_s, 604800);
    });

    it('refuses bad values with 400 naming the field and changes nothing', async () => {
      const cases: [unknown, string][] = [
        [{ password: 'short' }, 'password'],
        [{ email: 'nope' }, 'email'],
        [{ tag_expiration_s: 12345 }, 'tag_expiration_s'],
        [{ tag_expiration_s: -1 }, 'tag_expiration_s'],
        [{ email: 'carol@third.example', tag_expiration_s: 7 }, 'tag_expiration_s'],
        [{ username: 'renamed' }, 'username'],
      ];
      for (const [body, field] of cases) {
        const res = await call(server, CAROL, 'PUT', '/user/', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.field, field, JSON.stringify(body));
      }
      const me = await call(server, CAROL, 'GET', '/user/');
      assert.equal(me.body.email, 'carol@new.example', 'the failed update changed nothing');
      assert.equal(me.body.tag_expiration_s, 604800);
      assert.equal((await call(server, null, 'PUT', '/user/', { email: 'a@b.c' })).status, 401);
    });
  });

  describe('DELETE /user/', () => {
    it('refuses to delete the last administrator of an organization (409), and keeps the user', async () => {
      const res = await call(server, ALICE, 'DELETE', '/user/');
      assert.equal(res.status, 409);
      assert.match(res.body.error_message, /last administrator of acme/);
      assert.equal((await call(server, ALICE, 'GET', '/user/')).status, 200);
    });

    it('deletes the caller with its robots', async () => {
      const DAVE: Creds = { user: 'dave', password: 'dave-password-1' };
      await server.cli('admin', 'create-user', DAVE.user, '--email', 'dave@example.com', '--password', DAVE.password);
      const robot = await call(server, DAVE, 'PUT', '/user/robots/ci');
      assert.equal(robot.status, 201);
      assert.equal((await call(server, null, 'DELETE', '/user/')).status, 401);
      assert.equal((await call(server, DAVE, 'DELETE', '/user/')).status, 204);
      assert.equal((await call(server, DAVE, 'GET', '/user/')).status, 401);
      const login = await fetch(`${server.url}/v2/auth?service=${server.host}`, { headers: { authorization: basic('dave+ci', robot.body.token) } });
      assert.equal(login.status, 401, 'the robot went with its user');
    });
  });

  describe('/superuser/users/', () => {
    it('creates a user with a generated password that signs in', async () => {
      const res = await call(server, ROOT, 'POST', '/superuser/users/', { username: 'erin', email: 'erin@example.com' });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body).sort(), ['email', 'encrypted_password', 'password', 'username'], 'the seed\'s fields');
      assert.equal(res.body.username, 'erin');
      assert.equal(res.body.email, 'erin@example.com');
      assert.match(res.body.password, /^[A-Z0-9]{32}$/);
      const me = await call(server, { user: 'erin', password: res.body.password }, 'GET', '/user/');
      assert.equal(me.status, 200);
      // As Quay's, the encrypted password logs the new user in to the registry.
      const login = await fetch(`${server.url}/v2/auth?service=${server.host}`, { headers: { authorization: basic('erin', res.body.encrypted_password) } });
      assert.equal(login.status, 200);
    });

    it('refuses bad input (400, 409) and callers who are not superusers (401, 403)', async () => {
      assert.equal((await call(server, ROOT, 'POST', '/superuser/users/', { username: 'Nope!', email: 'n@example.com' })).body.field, 'username');
      assert.equal((await call(server, ROOT, 'POST', '/superuser/users/', { username: 'nope', email: 'bad' })).body.field, 'email');
      assert.equal((await call(server, ROOT, 'POST', '/superuser/users/', { username: 'erin', email: 'e@example.com' })).status, 409);
      assert.equal((await call(server, ALICE, 'POST', '/superuser/users/', { username: 'sneaky', email: 's@example.com' })).status, 403);
      assert.equal((await call(server, null, 'POST', '/superuser/users/', { username: 'sneaky', email: 's@example.com' })).status, 401);
      assert.equal((await call(server, ROOT, 'GET', '/superuser/users/')).body.users.some((u: { name: string }) => u.name === 'sneaky'), false);
    });

    it('lists the users to superusers only', async () => {
      const res = await call(server, ROOT, 'GET', '/superuser/users/');
      assert.equal(res.status, 200);
      const names = res.body.users.map((u: { name: string }) => u.name);
      for (const n of ['alice', 'bob', 'erin', 'root']) assert.ok(names.includes(n), n);
      assert.ok(!names.includes('acme'), 'organizations are not users');
      assert.equal(res.body.users.find((u: { name: string }) => u.name === 'root').super_user, true);
      assert.equal((await call(server, ALICE, 'GET', '/superuser/users/')).status, 403);
      assert.equal((await call(server, null, 'GET', '/superuser/users/')).status, 401);
    });

    it('deletes a user; refuses unknown users, superusers and last org admins', async () => {
      assert.equal((await call(server, ALICE, 'DELETE', '/superuser/users/bob')).status, 403);
      assert.equal((await call(server, ROOT, 'DELETE', '/superuser/users/bob')).status, 204);
      assert.equal((await call(server, BOB, 'GET', '/user/')).status, 401);
      for (const name of ['bob', 'nobody', 'acme']) {
        const gone = await call(server, ROOT, 'DELETE', `/superuser/users/${name}`);
        assert.equal(gone.status, 404, name);
        assert.equal(gone.body.field, 'username', name);
      }
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme')).status, 200, 'an organization is no user to delete');
      const su = await call(server, ROOT, 'DELETE', '/superuser/users/root');
      assert.equal(su.status, 400);
      assert.equal(su.body.field, 'username');
      assert.equal((await call(server, ROOT, 'DELETE', '/superuser/users/alice')).status, 409);
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one goes last as a suite of its own.
  describe('usage logs', () => {
    it('records every change in the usage logs, with its performer, and nothing for refused ones', async () => {
      const logs = await usageLogs(server, ROOT);
      assert.deepEqual(entriesOf(logs, 'user_create', 'username'), ['newbie@newbie newbie', 'root@erin erin']);
      assert.deepEqual(entriesOf(logs, 'account_change_password'), ['carol@carol']);
      assert.deepEqual(entriesOf(logs, 'user_change_email', 'email', 'old_email'), ['carol@carol carol@new.example carol@example.com']);
      assert.deepEqual(entriesOf(logs, 'user_change_tag_expiration', 'tag_expiration'), ['carol@carol 604800']);
      assert.deepEqual(entriesOf(logs, 'create_robot', 'robot'), ['dave@dave ci']);
      assert.deepEqual(entriesOf(logs, 'user_delete', 'username'), ['dave@dave dave', 'root@bob bob']);
    });
  });
});
