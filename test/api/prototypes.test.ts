import assert from 'node:assert/strict';
import { request } from '../registry/registry-client.js';
import { registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, grantedActions, type Creds } from './account-api.js';
import { registryTags } from './repo-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const CAROL: Creds = { user: 'carol', password: 'carol-password-3' };
const DAVE: Creds = { user: 'dave', password: 'dave-password-44' };

describe(`/api/v1 default permissions (prototypes) (${TEST_DB})`, function () {
  let server: TestServer;
  let robot: Creds;

  const prototypes = async () => (await call(server, ALICE, 'GET', '/organization/acme/prototypes')).body.prototypes as { id: string }[];
  const removeAll = async () => {
    for (const p of await prototypes()) assert.equal((await call(server, ALICE, 'DELETE', `/organization/acme/prototypes/${p.id}`)).status, 204);
  };
  const userRoles = async (repo: string) => {
    const perms = (await call(server, ALICE, 'GET', `/repository/${repo}/permissions/user/`)).body.permissions as Record<string, { role: string }>;
    return Object.fromEntries(Object.entries(perms).map(([name, p]) => [name, p.role]));
  };
  const teamRoles = async (repo: string) => {
    const perms = (await call(server, ALICE, 'GET', `/repository/${repo}/permissions/team/`)).body.permissions as Record<string, { role: string }>;
    return Object.fromEntries(Object.entries(perms).map(([name, p]) => [name, p.role]));
  };

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    for (const u of [ALICE, BOB, CAROL, DAVE]) await admin('create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await admin('create-org', 'acme', '--owner', ALICE.user);
    robot = { user: 'acme+puller', password: await admin('create-robot', 'acme+puller') };
    await admin('create-robot', 'bob+bot');
    // bob may create repositories in acme; carol is a plain member.
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/makers', { role: 'creator' })).status, 200);
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/makers/members/bob', {})).status, 200);
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/readers', { role: 'member' })).status, 200);
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/readers/members/carol', {})).status, 200);
  });
  after(async () => server?.stop());

  it('creates, lists, changes and deletes a default permission', async () => {
    const created = await call(server, ALICE, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: 'acme+puller', kind: 'user' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { id } = created.body;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(created.body.role, 'read');
    assert.equal(created.body.activating_user, null);
    assert.deepEqual(
      { ...created.body.delegate, avatar: undefined },
      { name: 'acme+puller', kind: 'user', is_robot: true, is_org_member: true, avatar: undefined },
    );
    assert.deepEqual((await prototypes()).map((p) => p.id), [id]);

    const changed = await call(server, ALICE, 'PUT', `/organization/acme/prototypes/${id}`, { role: 'write', activating_user: { name: 'bob' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.role, 'write');
    assert.equal(changed.body.activating_user.name, 'bob');
    assert.equal(changed.body.activating_user.is_org_member, true);
    assert.equal(changed.body.delegate.name, 'acme+puller');
    const team = await call(server, ALICE, 'PUT', `/organization/acme/prototypes/${id}`, { role: 'admin', delegate: { name: 'readers', kind: 'team' }, activating_user: null });
    assert.deepEqual([team.body.role, team.body.delegate.name, team.body.delegate.kind, team.body.activating_user], ['admin', 'readers', 'team', null]);

    assert.equal((await call(server, ALICE, 'DELETE', `/organization/acme/prototypes/${id}`)).status, 204);
    assert.deepEqual(await prototypes(), []);
    assert.equal((await call(server, ALICE, 'DELETE', `/organization/acme/prototypes/${id}`)).status, 404);
    assert.equal((await call(server, ALICE, 'PUT', `/organization/acme/prototypes/${id}`, { role: 'read' })).status, 404);

    const logs = (await call(server, ALICE, 'GET', '/organization/acme/logs')).body.logs as { kind: string; performer: { name: string }; metadata: { prototypeid?: string } }[];
    const mine = logs.filter((l) => l.metadata.prototypeid === id).map((l) => `${l.kind} by ${l.performer.name}`).reverse();
    assert.deepEqual(mine, [
      'create_prototype_permission by alice',
      'modify_prototype_permission by alice',
      'modify_prototype_permission by alice',
      'delete_prototype_permission by alice',
    ]);
  });

  it('refuses bad input with 400 naming the field and duplicates with 409, creating nothing', async () => {
    assert.equal((await call(server, ALICE, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: 'carol', kind: 'user' } })).status, 200);
    const cases: [unknown, number, string][] = [
      [{ role: 'owner', delegate: { name: 'carol', kind: 'user' } }, 400, 'role'],
      [{ delegate: { name: 'carol', kind: 'user' } }, 400, 'role'],
      [{ role: 'read', delegate: { name: 'carol', kind: 'group' } }, 400, 'delegate.kind'],
      [{ role: 'read' }, 400, 'delegate'],
      [{ role: 'read', delegate: { name: 'nobody', kind: 'user' } }, 400, 'delegate.name'],
      [{ role: 'read', delegate: { name: 'acme', kind: 'user' } }, 400, 'delegate.name'],
      [{ role: 'read', delegate: { name: 'bob+bot', kind: 'user' } }, 400, 'delegate.name'],
      [{ role: 'read', delegate: { name: 'ghosts', kind: 'team' } }, 400, 'delegate.name'],
      [{ role: 'read', delegate: { name: 'dave', kind: 'user' }, activating_user: { name: 'nobody' } }, 400, 'activating_user.name'],
      [{ role: 'write', delegate: { name: 'carol', kind: 'user' } }, 409, 'delegate'],
    ];
    for (const [body, status, field] of cases) {
      const res = await call(server, ALICE, 'POST', '/organization/acme/prototypes', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.field, field, JSON.stringify(body));
    }
    assert.equal((await prototypes()).length, 1);
    // The same delegate for a specific activating user is another prototype.
    const specific = await call(server, ALICE, 'POST', '/organization/acme/prototypes', { role: 'write', delegate: { name: 'carol', kind: 'user' }, activating_user: { name: 'bob' } });
    assert.equal(specific.status, 200);
    const clash = await call(server, ALICE, 'PUT', `/organization/acme/prototypes/${specific.body.id}`, { role: 'write', activating_user: null });
    assert.equal(clash.status, 409);
    await removeAll();
  });

  it('is for organization admins only', async () => {
    const body = { role: 'read', delegate: { name: 'carol', kind: 'user' } };
    for (const [who, status] of [[BOB, 403], [CAROL, 403], [DAVE, 404], [null, 401]] as const) {
      assert.equal((await call(server, who, 'GET', '/organization/acme/prototypes')).status, status, `${who?.user} GET`);
      assert.equal((await call(server, who, 'POST', '/organization/acme/prototypes', body)).status, status, `${who?.user} POST`);
    }
    assert.equal((await call(server, BOB, 'GET', '/organization/bob/prototypes')).status, 404, 'a user namespace has none');
    assert.equal((await call(server, ALICE, 'GET', '/organization/nosuchorg/prototypes')).status, 404);
    assert.deepEqual(await prototypes(), []);
  });

  it('applies to repositories created through the API, a prototype for the creator winning over one for anybody', async () => {
    const add = (body: unknown) => call(server, ALICE, 'POST', '/organization/acme/prototypes', body);
    assert.equal((await add({ role: 'read', delegate: { name: 'carol', kind: 'user' } })).status, 200);
    assert.equal((await add({ role: 'write', delegate: { name: 'carol', kind: 'user' }, activating_user: { name: 'bob' } })).status, 200);
    assert.equal((await add({ role: 'read', delegate: { name: 'readers', kind: 'team' } })).status, 200);
    // A prototype naming the creator itself changes nothing: the creator holds admin already.
    assert.equal((await add({ role: 'read', delegate: { name: 'bob', kind: 'user' } })).status, 200);

    assert.equal((await call(server, BOB, 'POST', '/repository', { namespace: 'acme', repository: 'by-bob', visibility: 'private' })).status, 201);
    assert.deepEqual(await userRoles('acme/by-bob'), { bob: 'admin', carol: 'write' });
    assert.deepEqual(await teamRoles('acme/by-bob'), { readers: 'read' });
    assert.equal((await call(server, CAROL, 'GET', '/repository/acme/by-bob')).body.can_write, true);

    assert.equal((await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'by-alice', visibility: 'private' })).status, 201);
    assert.deepEqual(await userRoles('acme/by-alice'), { alice: 'admin', bob: 'read', carol: 'read' });
    assert.deepEqual(await teamRoles('acme/by-alice'), { readers: 'read' });
    // Repositories outside the organization are untouched.
    assert.equal((await call(server, BOB, 'POST', '/repository', { repository: 'mine', visibility: 'private' })).status, 201);
    assert.deepEqual(Object.keys((await call(server, BOB, 'GET', '/repository/bob/mine/permissions/user/')).body.permissions), []);
    await removeAll();
  });

  it('applies to a repository a registry push creates: the robot it names can then pull', async () => {
    const proto = await call(server, ALICE, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: 'acme+puller', kind: 'user' } });
    assert.equal(proto.status, 200);
    assert.deepEqual((await grantedActions(server, robot, 'repository:acme/pushed:pull')).actions, []);

    // bob (team makers, role creator) starts a blob upload with a bearer token: that creates the repository.
    const token = await registryToken(server, BOB, 'repository:acme/pushed:pull,push');
    const upload = await request(server, 'POST', '/v2/acme/pushed/blobs/uploads/', { token });
    assert.equal(upload.status, 202, upload.body.toString());

    const view = await call(server, BOB, 'GET', '/repository/acme/pushed');
    assert.equal(view.status, 200);
    assert.equal(view.body.can_admin, true);
    assert.deepEqual(await userRoles('acme/pushed'), { 'acme+puller': 'read', bob: 'admin' });
    assert.deepEqual((await grantedActions(server, robot, 'repository:acme/pushed:pull,push')).actions, ['pull']);
    assert.deepEqual(await registryTags(server, robot, 'acme/pushed'), []);
    await removeAll();
  });
});
