// A registry token dies with what it was minted from: the account, the robot token, the OAuth token.
import assert from 'node:assert/strict';
import { basic, registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, type Creds } from '../api/account-api.js';
import { pushTestImage } from '../api/repo-api.js';
import { request } from './registry-client.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password' };
const BOB: Creds = { user: 'bob', password: 'bob-password' };
const SCOPE = 'repository:acme/app:pull';

describe(`registry tokens after their credential is gone (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await server.cli('admin', 'create-org', 'acme', '--owner', 'alice');
    await server.cli('admin', 'create-repo', 'acme/app', '--private');
    await server.cli('admin', 'grant', 'acme/app', 'bob', 'read');
    await pushTestImage(server, ALICE, 'acme/app', 'v1');
  });
  after(async () => server?.stop());

  const tagsList = (token: string) => request(server, 'GET', '/v2/acme/app/tags/list', { token });

  /** Refused so that a Docker client fetches a new token: 401 UNAUTHORIZED with a challenge naming the scope. */
  async function assertRevoked(token: string, what: string) {
    const res = await tagsList(token);
    assert.equal(res.status, 401, `${what}: ${res.body.toString()}`);
    assert.equal(res.errors()[0]!.code, 'UNAUTHORIZED', what);
    assert.equal(res.headers['www-authenticate'], `Bearer realm="http://${server.host}/v2/auth",service="${server.host}",scope="repository:acme/app:pull"`, what);
  }

  async function newRobot(short: string): Promise<Creds> {
    const res = await call(server, ALICE, 'PUT', `/organization/acme/robots/${short}`, {});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await server.cli('admin', 'grant', 'acme/app', `acme+${short}`, 'read');
    return { user: `acme+${short}`, password: res.body.token };
  }

  it('refuses a robot’s registry token once the robot token is regenerated; the new token works', async () => {
    const robot = await newRobot('ci');
    const old = await registryToken(server, robot, SCOPE);
    assert.equal((await tagsList(old)).status, 200);
    const regenerated = await call(server, ALICE, 'POST', '/organization/acme/robots/ci/regenerate');
    assert.equal(regenerated.status, 200);
    await assertRevoked(old, 'bearer');
    // Neither as a Basic password (as builders send it) nor exchanged for a fresh one.
    const asPassword = await request(server, 'GET', '/v2/acme/app/tags/list', { headers: { authorization: basic(robot.user, old) } });
    assert.equal(asPassword.status, 401);
    const exchange = await fetch(`${server.url}/v2/auth?service=${server.host}&scope=${SCOPE}`, { headers: { authorization: basic(robot.user, old) } });
    assert.equal(exchange.status, 401);
    await assert.rejects(registryToken(server, robot, SCOPE), /401/, 'the old robot token logs in no more');

    const renewed = await registryToken(server, { user: robot.user, password: regenerated.body.token }, SCOPE);
    assert.equal((await tagsList(renewed)).status, 200);
    // A token exchanged from the new one carries the same credential and works as long as it does.
    const exchanged = await registryToken(server, { user: robot.user, password: renewed }, SCOPE);
    assert.equal((await tagsList(exchanged)).status, 200);
    await call(server, ALICE, 'POST', '/organization/acme/robots/ci/regenerate');
    await assertRevoked(exchanged, 'exchanged token after a second regeneration');
  });

  it('refuses a deleted robot’s registry token', async () => {
    const robot = await newRobot('doomed');
    const token = await registryToken(server, robot, SCOPE);
    assert.equal((await tagsList(token)).status, 200);
    assert.equal((await call(server, ALICE, 'DELETE', '/organization/acme/robots/doomed')).status, 204);
    await assertRevoked(token, 'deleted robot');
    // A robot made again under the same name is another credential.
    await newRobot('doomed');
    await assertRevoked(token, 'robot of the same name');
  });

  it('keeps a user’s registry token across a password change (as Quay) and refuses it once the user is deleted', async () => {
    const token = await registryToken(server, BOB, SCOPE);
    assert.equal((await tagsList(token)).status, 200);
    assert.equal((await call(server, BOB, 'PUT', '/user/', { password: 'bob-password-2' })).status, 200);
    assert.equal((await tagsList(token)).status, 200);
    assert.equal((await call(server, { user: 'bob', password: 'bob-password-2' }, 'DELETE', '/user/')).status, 204);
    await assertRevoked(token, 'deleted user');
    // Nor does a new account of the same name inherit it.
    await server.cli('admin', 'create-user', 'bob', '--email', 'bob@example.com', '--password', BOB.password);
    await server.cli('admin', 'grant', 'acme/app', 'bob', 'read');
    await assertRevoked(token, 'new user of the same name');
  });

  it('refuses a $oauthtoken registry token once its OAuth token is revoked', async () => {
    const app = await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'ci' });
    assert.equal(app.status, 200, JSON.stringify(app.body));
    const mint = async (name: string) => {
      const res = await call(server, ALICE, 'POST', `/organization/acme/applications/${app.body.client_id}/tokens`, { name, scope: 'repo:read' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { uuid: string; token: string };
    };
    const revoked = await mint('revoked');
    const kept = await mint('kept');
    const fromRevoked = await registryToken(server, { user: '$oauthtoken', password: revoked.token }, SCOPE);
    const fromKept = await registryToken(server, { user: '$oauthtoken', password: kept.token }, SCOPE);
    assert.equal((await tagsList(fromRevoked)).status, 200);
    const del = await call(server, ALICE, 'DELETE', `/organization/acme/applications/${app.body.client_id}/tokens/${revoked.uuid}`);
    assert.equal(del.status, 204);
    await assertRevoked(fromRevoked, 'revoked OAuth token');
    assert.equal((await tagsList(fromKept)).status, 200, 'another OAuth token of the same user is unaffected');
    // Alice's own login is unaffected too.
    assert.equal((await tagsList(await registryToken(server, ALICE, SCOPE))).status, 200);
  });

  it('keeps the OAuth scopes and the OAuth token id in a token exchanged from a $oauthtoken token', async () => {
    const app = await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'exchange' });
    const minted = await call(server, ALICE, 'POST', `/organization/acme/applications/${app.body.client_id}/tokens`, { name: 'x', scope: 'repo:read' });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    const payload = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { scp?: string; oat?: number };
    const first = await registryToken(server, { user: '$oauthtoken', password: minted.body.token }, SCOPE);
    const exchanged = await registryToken(server, { user: 'alice', password: first }, SCOPE);
    assert.equal(payload(first).scp, 'repo:read');
    assert.deepEqual([payload(exchanged).scp, payload(exchanged).oat], [payload(first).scp, payload(first).oat]);
    assert.equal((await tagsList(exchanged)).status, 200);
  });
});
