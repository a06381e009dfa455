import assert from 'node:assert/strict';
import { basic, registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { request } from '../registry/registry-client.js';
import { call, grantedActions, type Creds } from './account-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const ROOT: Creds = { user: 'root', password: 'root-password-1' };
const REDIRECT = 'http://127.0.0.1:9/callback';

/** Calls /api/v1 with an OAuth bearer token. */
async function bearer(server: TestServer, token: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** GET /oauth/authorize as `who`, without following the redirect. */
async function authorize(server: TestServer, who: Creds | null, params: Record<string, string>) {
  const res = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams(params)}`, {
    redirect: 'manual', headers: who ? { authorization: basic(who.user, who.password) } : {},
  });
  const location = res.headers.get('location');
  return { status: res.status, headers: res.headers, location: location ? new URL(location) : null, body: location ? null : await res.json() as any };
}

/** POST /oauth/access_token, form-encoded as RFC 6749 has it. */
async function exchange(server: TestServer, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/oauth/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe(`OAuth applications and tokens (${TEST_DB})`, function () {
  let server: TestServer;
  let app: { client_id: string; client_secret: string };

  async function mint(who: Creds, scope: string): Promise<string> {
    const res = await call(server, who, 'POST', `/organization/acme/applications/${app.client_id}/tokens`, { name: `t-${scope}`, scope });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.token;
  }

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await server.cli('admin', 'create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    await server.cli('admin', 'create-repo', 'acme/private', '--private');
    await server.cli('admin', 'create-repo', 'acme/public', '--public');
    const res = await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'ci', redirect_uri: REDIRECT, description: 'our CI' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    app = res.body;
  });
  after(async () => server?.stop());

  describe('applications', () => {
    it('creates an application with a 20-character client id and a 40-character secret shown to admins', async () => {
      assert.match(app.client_id, /^[A-Z0-9]{20}$/);
      assert.match(app.client_secret, /^[A-Za-z0-9]{40}$/);
      const list = await call(server, ALICE, 'GET', '/organization/acme/applications');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.applications, [{
        name: 'ci', description: 'our CI', application_uri: '', client_id: app.client_id, client_secret: app.client_secret,
        redirect_uri: REDIRECT, avatar_email: null,
      }]);
      const one = await call(server, ALICE, 'GET', `/organization/acme/applications/${app.client_id}`);
      assert.equal(one.body.client_secret, app.client_secret);
    });

    it('updates, resets the secret of, and deletes an application', async () => {
      const made = (await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'temp' })).body;
      const path = `/organization/acme/applications/${made.client_id}`;
      const put = await call(server, ALICE, 'PUT', path, { name: 'renamed', redirect_uri: 'https://example.com/cb', application_uri: 'https://example.com' });
      assert.equal(put.status, 200);
      assert.equal(put.body.name, 'renamed');
      assert.equal(put.body.redirect_uri, 'https://example.com/cb');
      const reset = await call(server, ALICE, 'POST', `${path}/resetclientsecret`);
      assert.equal(reset.status, 200);
      assert.notEqual(reset.body.client_secret, made.client_secret);
      assert.equal((await call(server, ALICE, 'GET', path)).body.client_secret, reset.body.client_secret);
      assert.equal((await call(server, ALICE, 'DELETE', path)).status, 204);
      assert.equal((await call(server, ALICE, 'GET', path)).status, 404);
      assert.equal((await call(server, ALICE, 'DELETE', path)).status, 404);
    });

    it('refuses bad input with the field named', async () => {
      const cases: [unknown, string][] = [
        [{ name: '' }, 'name'],
        [{ name: 'x', redirect_uri: 'ftp://example.com/' }, 'redirect_uri'],
        [{ name: 'x', redirect_uri: 'http://example.com/#frag' }, 'redirect_uri'],
        [{ name: 'x', application_uri: 'not a url' }, 'application_uri'],
        [{ name: 'x', avatar_email: 'nope' }, 'avatar_email'],
        [{ name: 'x', color: 'red' }, 'color'],
      ];
      for (const [body, field] of cases) {
        const res = await call(server, ALICE, 'POST', '/organization/acme/applications', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.field, field, JSON.stringify(body));
      }
      const put = await call(server, ALICE, 'PUT', `/organization/acme/applications/${app.client_id}`, { name: 'ci' });
      assert.equal(put.status, 400);
      assert.equal(put.body.field, 'redirect_uri');
      const names = (await call(server, ALICE, 'GET', '/organization/acme/applications')).body.applications.map((a: { name: string }) => a.name);
      assert.deepEqual(names, ['ci'], 'nothing half-created');
    });

    it('lets only the organization’s admins (and superusers) manage applications', async () => {
      assert.equal((await call(server, null, 'GET', '/organization/acme/applications')).status, 401);
      assert.equal((await call(server, BOB, 'GET', '/organization/acme/applications')).status, 404);
      assert.equal((await call(server, BOB, 'POST', '/organization/acme/applications', { name: 'x' })).status, 404);
      assert.equal((await call(server, ROOT, 'GET', '/organization/acme/applications')).status, 200);
      assert.equal((await call(server, ALICE, 'GET', '/organization/nosuchorg/applications')).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/organization/acme/applications/NOSUCHCLIENT')).status, 404);
    });
  });

  describe('authorization-code flow', () => {
    const params = (extra: Record<string, string> = {}) => ({ response_type: 'code', client_id: app.client_id, redirect_uri: `${REDIRECT}/step`, scope: 'repo:read user:read', state: 's-1', ...extra });

    it('refuses a redirect_uri outside the registered one without redirecting', async () => {
      for (const redirect_uri of ['http://evil.example/callback', 'http://127.0.0.1:9/callbackevil', 'https://127.0.0.1:9/callback']) {
        const res = await authorize(server, ALICE, params({ redirect_uri }));
        assert.equal(res.status, 400, redirect_uri);
        assert.equal(res.location, null);
        assert.equal(res.body.error, 'invalid_request');
      }
      const unknown = await authorize(server, ALICE, params({ client_id: 'NOSUCHCLIENT' }));
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error, 'invalid_client');
    });

    it('asks for credentials, and redirects unknown scopes back with error=invalid_scope', async () => {
      const anon = await authorize(server, null, params());
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic /);
      const wrong = await authorize(server, { user: 'alice', password: 'wrong-password' }, params());
      assert.equal(wrong.status, 401);
      const bad = await authorize(server, ALICE, params({ scope: 'repo:read repo:everything' }));
      assert.equal(bad.status, 302);
      assert.equal(bad.location!.origin + bad.location!.pathname, `${REDIRECT}/step`);
      assert.equal(bad.location!.searchParams.get('error'), 'invalid_scope');
      assert.equal(bad.location!.searchParams.get('state'), 's-1');
      assert.equal(bad.location!.searchParams.get('code'), null);
      const notSuper = await authorize(server, ALICE, params({ scope: 'super:user' }));
      assert.equal(notSuper.location!.searchParams.get('error'), 'invalid_scope');
      const type = await authorize(server, ALICE, params({ response_type: 'password' }));
      assert.equal(type.location!.searchParams.get('error'), 'unsupported_response_type');
    });

    it('trades a code for a token once; a replayed code is refused and revokes that token', async () => {
      const granted = await authorize(server, ALICE, params());
      assert.equal(granted.status, 302);
      const code = granted.location!.searchParams.get('code')!;
      assert.equal(granted.location!.searchParams.get('state'), 's-1');
      assert.match(code, /^[A-Za-z0-9]{40}$/);
      const form = { grant_type: 'authorization_code', client_id: app.client_id, client_secret: app.client_secret, code, redirect_uri: `${REDIRECT}/step` };

      const badSecret = await exchange(server, { ...form, client_secret: 'x'.repeat(40) });
      assert.equal(badSecret.status, 401);
      assert.equal(badSecret.body.error, 'invalid_client');
      const badRedirect = await exchange(server, { ...form, redirect_uri: REDIRECT });
      assert.equal(badRedirect.status, 400);
      assert.equal(badRedirect.body.error, 'invalid_grant');
      const badGrant = await exchange(server, { ...form, grant_type: 'password' });
      assert.equal(badGrant.body.error, 'unsupported_grant_type');

      const ok = await exchange(server, form);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      assert.equal(ok.body.token_type, 'Bearer');
      assert.equal(ok.body.scope, 'repo:read user:read');
      assert.ok(ok.body.expires_in > 0);
      const me = await bearer(server, ok.body.access_token, 'GET', '/user/');
      assert.equal(me.status, 200);
      assert.equal(me.body.username, 'alice');

      const replay = await exchange(server, form);
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
      assert.equal((await bearer(server, ok.body.access_token, 'GET', '/user/')).status, 401, 'the leaked code’s token is revoked');
    });

    it('accepts Basic client authentication and a JSON body; the implicit flow answers in the fragment', async () => {
      const code = (await authorize(server, ALICE, params({ redirect_uri: REDIRECT }))).location!.searchParams.get('code')!;
      const res = await fetch(`${server.url}/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic(app.client_id, app.client_secret) },
        body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
      });
      assert.equal(res.status, 200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      assert.equal((await bearer(server, token, 'GET', '/user/')).body.username, 'alice');

      const implicit = await authorize(server, ALICE, { ...params(), response_type: 'token' });
      assert.equal(implicit.status, 302);
      const fragment = new URLSearchParams(implicit.location!.hash.slice(1));
      assert.equal(fragment.get('token_type'), 'Bearer');
      assert.equal(fragment.get('state'), 's-1');
      assert.equal((await bearer(server, fragment.get('access_token')!, 'GET', '/user/')).body.username, 'alice');
    });
  });

  describe('minted tokens', () => {
    it('mints a token for the caller, lists it without its secret, and revokes it', async () => {
      const res = await call(server, ALICE, 'POST', `/organization/acme/applications/${app.client_id}/tokens`, { name: ' deploy ', scope: 'repo:read,user:read', expiration: 3600 });
      assert.equal(res.status, 200);
      assert.equal(res.body.name, 'deploy');
      assert.equal(res.body.scope, 'repo:read user:read');
      assert.equal(res.body.created_by, 'alice');
      assert.equal(res.body.last_accessed, null);
      assert.match(res.body.token, /^[A-Za-z0-9]{40}$/);
      const lifetime = Date.parse(res.body.expires_at) - Date.parse(res.body.created);
      assert.ok(Math.abs(lifetime - 3600_000) < 1000, `lifetime ${lifetime}`);
      assert.equal((await bearer(server, res.body.token, 'GET', '/user/')).status, 200);

      const list = await call(server, ALICE, 'GET', `/organization/acme/applications/${app.client_id}/tokens`);
      const listed = list.body.tokens.find((t: { uuid: string }) => t.uuid === res.body.uuid);
      assert.ok(listed);
      assert.equal(listed.token, undefined, 'never shown again');
      assert.notEqual(listed.last_accessed, null, 'its use was recorded');

      assert.equal((await call(server, ALICE, 'DELETE', `/organization/acme/applications/${app.client_id}/tokens/${res.body.uuid}`)).status, 204);
      assert.equal((await bearer(server, res.body.token, 'GET', '/user/')).status, 401);
      assert.equal((await call(server, ALICE, 'DELETE', `/organization/acme/applications/${app.client_id}/tokens/${res.body.uuid}`)).status, 404);
    });

    it('never mints more than the caller holds', async () => {
      const path = `/organization/acme/applications/${app.client_id}/tokens`;
      const superuser = await call(server, ALICE, 'POST', path, { name: 'x', scope: 'super:user' });
      assert.equal(superuser.status, 403);
      assert.equal((await call(server, BOB, 'POST', path, { name: 'x', scope: 'repo:read' })).status, 404);
      assert.equal((await call(server, null, 'POST', path, { name: 'x', scope: 'repo:read' })).status, 401);
      const unknown = await call(server, ALICE, 'POST', path, { name: 'x', scope: 'repo:read repo:all' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.field, 'scope');
      assert.equal((await call(server, ALICE, 'POST', path, { name: '', scope: 'repo:read' })).body.field, 'name');

      // Through a token: only org:admin, so it can mint org:admin but not repo:write.
      const orgAdmin = await mint(ALICE, 'org:admin');
      assert.equal((await bearer(server, orgAdmin, 'POST', path, { name: 'y', scope: 'repo:write' })).status, 403);
      assert.equal((await bearer(server, orgAdmin, 'POST', path, { name: 'y', scope: 'org:admin' })).status, 200);
      // A token without org:admin cannot administer the organization's applications at all.
      const userRead = await mint(ALICE, 'user:read');
      assert.equal((await bearer(server, userRead, 'GET', '/organization/acme/applications')).status, 403);
    });
  });

  describe('tokens at work', () => {
    it('caps /api/v1 by the token’s scopes: user:read reads the user but creates no repository', async () => {
      const token = await mint(ALICE, 'user:read');
      assert.equal((await bearer(server, token, 'GET', '/user/')).status, 200);
      const repo = { namespace: 'alice', repository: 'fromtoken', visibility: 'private', description: '' };
      assert.equal((await bearer(server, token, 'POST', '/repository', repo)).status, 403);
      assert.equal((await call(server, ALICE, 'GET', '/repository/alice/fromtoken')).status, 404, 'nothing was created');
      assert.equal((await bearer(server, 'A'.repeat(40), 'GET', '/user/')).status, 401);
    });

    it('logs in to the registry as $oauthtoken: a repo:read token pulls but does not push', async () => {
      const readToken = await mint(ALICE, 'repo:read');
      const asToken: Creds = { user: '$oauthtoken', password: readToken };
      assert.deepEqual((await grantedActions(server, asToken, 'repository:acme/private:pull,push')).actions, ['pull']);
      assert.deepEqual((await grantedActions(server, ALICE, 'repository:acme/private:pull,push')).actions, ['pull', 'push']);
      assert.deepEqual((await grantedActions(server, asToken, 'repository:acme/newrepo:pull,push')).actions, [], 'no repo:create');
      assert.equal((await grantedActions(server, { user: '$oauthtoken', password: 'B'.repeat(40) }, 'repository:acme/private:pull')).status, 401);
      assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('$oauthtoken', readToken) } })).status, 200);

      // Basic straight on /v2, as some clients do.
      const auth = { authorization: basic('$oauthtoken', readToken) };
      assert.equal((await request(server, 'GET', '/v2/acme/private/tags/list', { headers: auth })).status, 200);
      const push = await request(server, 'POST', '/v2/acme/private/blobs/uploads/', { headers: auth });
      assert.equal(push.status, 403);
      assert.equal(push.errors()[0]!.code, 'DENIED');

      const writeToken = await mint(ALICE, 'repo:write');
      assert.deepEqual((await grantedActions(server, { user: '$oauthtoken', password: writeToken }, 'repository:acme/private:pull,push')).actions, ['pull', 'push']);
    });

    it('shows a token without repo scopes only the public repositories in the catalog', async () => {
      const catalog = async (token: string) => {
        const jwt = await registryToken(server, { user: '$oauthtoken', password: token });
        const res = await request(server, 'GET', '/v2/_catalog', { token: jwt });
        return (JSON.parse(res.body.toString()) as { repositories: string[] }).repositories;
      };
      assert.deepEqual(await catalog(await mint(ALICE, 'user:read')), ['acme/public']);
      assert.deepEqual(await catalog(await mint(ALICE, 'repo:read')), ['acme/private', 'acme/public']);
    });
  });
});
