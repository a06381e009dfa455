// Issue 3 end to end with podman: an organization admin sets up a creator team and a default
// permission, a team member pushes a new repository, a robot pulls it, an OAuth token with
// repo:read pulls but cannot push, and the usage log tells who did each step.
import assert from 'node:assert/strict';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { describeResult } from '../support/run-command.js';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, entriesOf, usageLogs } from '../api/account-api.js';

const ADMIN = { user: 'alice', password: 'alice-password-1' };
const DEV = { user: 'dave', password: 'dave-password-22' };
const ROOT = { user: 'root', password: 'root-password-333' };

describe(`organization workflow with podman (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let clients: Clients[] = [];
  let robotToken = '';
  let image = '';
  const client = () => {
    const c = createClients([server.host]);
    clients.push(c);
    return c;
  };
  const repoRef = (tag: string) => `${server.host}/acme/newapp:${tag}`;

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    await admin('create-user', ADMIN.user, '--email', 'alice@example.com', '--password', ADMIN.password);
    await admin('create-user', DEV.user, '--email', 'dave@example.com', '--password', DEV.password);
    await admin('create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await admin('create-org', 'acme', '--owner', ADMIN.user);
  });
  after(async () => server?.stop());
  afterEach(() => {
    for (const c of clients) c.dispose();
    clients = [];
  });

  it('an org admin creates a creator team, adds a user, and a default permission for a robot', async () => {
    const team = await call(server, ADMIN, 'PUT', '/organization/acme/team/devs', { role: 'creator', description: 'developers' });
    assert.equal(team.status, 200, JSON.stringify(team.body));
    assert.equal(team.body.role, 'creator');
    const member = await call(server, ADMIN, 'PUT', '/organization/acme/team/devs/members/dave');
    assert.equal(member.status, 200, JSON.stringify(member.body));
    const robot = await call(server, ADMIN, 'PUT', '/organization/acme/robots/puller', { description: 'pulls for deploys' });
    assert.equal(robot.status, 201, JSON.stringify(robot.body));
    assert.equal(robot.body.name, 'acme+puller');
    robotToken = robot.body.token;
    const proto = await call(server, ADMIN, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: 'acme+puller', kind: 'user' } });
    assert.equal(proto.status, 200, JSON.stringify(proto.body));
    assert.equal(proto.body.delegate.name, 'acme+puller');
  });

  it('the team member pushes a new repository into the organization with podman', async () => {
    const c = client();
    mustSucceed('podman login as dave', await c.podmanLogin(server.host, DEV.user, DEV.password));
    const local = await c.makeBaseImage();
    mustSucceed('podman push', await c.podman(['push', local, repoRef('1')]));
    const view = await call(server, DEV, 'GET', '/repository/acme/newapp');
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.is_public, false, 'a repository created by a push is private');
    image = mustSucceed('inspect', await c.podman(['image', 'inspect', '--format', '{{.Id}}', local])).stdout.trim();
  });

  it('the default permission lets the robot pull it, and only pull', async () => {
    const perms = await call(server, ADMIN, 'GET', '/repository/acme/newapp/permissions/user/');
    assert.equal(perms.status, 200);
    assert.equal(perms.body.permissions['acme+puller']?.role, 'read', JSON.stringify(perms.body));
    const c = client();
    mustSucceed('podman login as the robot', await c.podmanLogin(server.host, 'acme+puller', robotToken));
    mustSucceed('podman pull as the robot', await c.podman(['pull', repoRef('1')]));
    const pulled = mustSucceed('inspect', await c.podman(['image', 'inspect', '--format', '{{.Id}}', repoRef('1')])).stdout.trim();
    assert.equal(pulled, image);
    const push = await c.podman(['push', repoRef('1'), repoRef('robot')]);
    assert.notEqual(push.code, 0, describeResult('robot push', push));
    assert.match(push.stderr, /denied/, describeResult('robot push', push));
  });

  it('a repo:read OAuth token logs in as $oauthtoken, pulls, and cannot push', async () => {
    const app = await call(server, ADMIN, 'POST', '/organization/acme/applications', { name: 'deployer' });
    assert.equal(app.status, 200, JSON.stringify(app.body));
    const minted = await call(server, ADMIN, 'POST', `/organization/acme/applications/${app.body.client_id}/tokens`, { name: 'ci-read', scope: 'repo:read' });
    assert.ok(minted.status === 200 || minted.status === 201, JSON.stringify(minted.body));
    const c = client();
    mustSucceed('podman login as $oauthtoken', await c.podmanLogin(server.host, '$oauthtoken', minted.body.token));
    mustSucceed('podman pull with the token', await c.podman(['pull', repoRef('1')]));
    const push = await c.podman(['push', repoRef('1'), repoRef('oauth')]);
    assert.notEqual(push.code, 0, describeResult('push with a repo:read token', push));
    assert.match(push.stderr, /denied/, describeResult('push with a repo:read token', push));
    const tags = await call(server, ADMIN, 'GET', '/repository/acme/newapp');
    assert.deepEqual(Object.keys(tags.body.tags).sort(), ['1'], 'refused pushes left no tag');
  });

  it('the usage log names the performer of each step', async () => {
    const logs = await usageLogs(server, ROOT);
    assert.deepEqual(entriesOf(logs, 'org_create_team', 'team'), ['alice@acme devs']);
    assert.deepEqual(entriesOf(logs, 'org_add_team_member', 'member'), ['alice@acme dave']);
    assert.deepEqual(entriesOf(logs, 'create_robot', 'robot'), ['alice@acme puller']);
    assert.deepEqual(entriesOf(logs, 'create_prototype_permission'), ['alice@acme']);
    // The repository the member's push made is his, and only the push made it.
    assert.deepEqual(entriesOf(logs, 'create_repo', 'repo', 'created_on_push'), ['dave@acme newapp true']);
    assert.deepEqual(entriesOf(logs, 'push_repo', 'tag'), ['dave@acme 1']);
    assert.deepEqual(entriesOf(logs, 'create_application', 'application_name'), ['alice@acme deployer']);
    assert.deepEqual(entriesOf(logs, 'create_oauth_api_token', 'application_name', 'scope', 'token_display_name'), ['alice@acme deployer repo:read ci-read']);
    const pulls = entriesOf(logs, 'pull_repo');
    assert.ok(pulls.includes('acme+puller@acme'), pulls.join('\n'));
    assert.ok(pulls.includes('alice@acme'), `the $oauthtoken pull is alice's: ${pulls.join('\n')}`);
  });
});
