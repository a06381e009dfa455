import assert from 'node:assert/strict';
import { basic, registryToken, startServer, type TestServer } from '../support/server.js';

function claims(token: string): { sub: string; access: { name: string; actions: string[] }[] } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

const ALICE = { user: 'alice', password: 'alice-password' };
const BOB = { user: 'bob', password: 'bob-password' };

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code;
}

describe('registry authentication and authorization', function () {
  let server: TestServer;
  const robots: Record<string, string> = {};

  before(async () => {
    server = await startServer();
    await server.cli('admin', 'create-user', 'alice', '--email', 'alice@example.com', '--password', ALICE.password);
    await server.cli('admin', 'create-user', 'bob', '--email', 'bob@example.com', '--password', BOB.password);
    await server.cli('admin', 'create-org', 'acme', '--owner', 'alice');
    await server.cli('admin', 'create-repo', 'acme/private', '--private');
    await server.cli('admin', 'create-repo', 'acme/public', '--public');
    for (const r of ['acme+reader', 'acme+writer', 'bob+bot']) robots[r] = await server.cli('admin', 'create-robot', r);
    await server.cli('admin', 'grant', 'acme/private', 'acme+reader', 'read');
    await server.cli('admin', 'grant', 'acme/private', 'acme+writer', 'write');
  });
  after(async () => server?.stop());

  const creds = (who: string) =>
    who === 'anonymous' ? null : who === 'alice' ? ALICE : who === 'bob' ? BOB : { user: who, password: robots[who]! };

  it('challenges an anonymous GET /v2/ the way Docker clients expect', async () => {
    const res = await fetch(`${server.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="http://${server.host}/v2/auth",service="${server.host}"`);
    assert.equal(await errorCode(res), 'UNAUTHORIZED');
  });

  it('answers GET /v2/ with 200 for good credentials and 401 for bad ones', async () => {
    assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('alice', ALICE.password) } })).status, 200);
    assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: basic('acme+reader', robots['acme+reader']!) } })).status, 200);
    const bad = await fetch(`${server.url}/v2/`, { headers: { authorization: basic('alice', 'wrong') } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate')?.startsWith('Bearer realm='), true);
    const token = await registryToken(server, ALICE);
    assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const forged = token.slice(0, -4) + 'AAAA';
    assert.equal((await fetch(`${server.url}/v2/`, { headers: { authorization: `Bearer ${forged}` } })).status, 401);
  });

  it('refuses bad credentials at the token endpoint', async () => {
    for (const [user, password] of [['alice', 'nope'], ['nobody', 'x'], ['acme+reader', 'A'.repeat(64)], ['acme+ghost', 'x']]) {
      const res = await fetch(`${server.url}/v2/auth?service=${server.host}`, { headers: { authorization: basic(user!, password!) } });
      assert.equal(res.status, 401, `${user}`);
      assert.equal(await errorCode(res), 'UNAUTHORIZED');
    }
  });

  it('returns token, access_token and expires_in, and refuses a malformed scope', async () => {
    const auth = { authorization: basic('alice', ALICE.password) };
    const res = await fetch(`${server.url}/v2/auth?service=${server.host}&scope=repository:acme/private:pull`, { headers: auth });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 3600);
    assert.equal(claims(body.token).sub, 'alice');
    const bad = await fetch(`${server.url}/v2/auth?service=${server.host}&scope=repository:Acme/X:pull`, { headers: auth });
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'NAME_INVALID');
  });

  // [who, scope, granted actions]
  const matrix: [string, string, string[]][] = [
    ['alice', 'acme/private:pull,push', ['pull', 'push']],
    ['alice', 'acme/private:*', ['*']],
    ['acme+reader', 'acme/private:pull,push', ['pull']],
    ['acme+writer', 'acme/private:pull,push', ['pull', 'push']],
    ['acme+writer', 'acme/private:*', []],
    ['bob', 'acme/private:pull,push', []],
    ['bob+bot', 'acme/private:pull', []],
    ['anonymous', 'acme/private:pull', []],
    ['anonymous', 'acme/public:pull,push', ['pull']],
    ['bob', 'acme/public:pull,push', ['pull']],
    ['bob+bot', 'acme/public:pull', ['pull']],
    ['alice', 'acme/new-repo:pull,push', ['pull', 'push']],
    ['bob', 'acme/new-repo:pull,push', []],
    ['acme+writer', 'acme/new-repo:pull,push', []],
    ['bob', 'bob/mine:pull,push', ['pull', 'push']],
    ['alice', 'bob/mine:pull,push', []],
    ['alice', 'nobody-here/x:pull,push', []],
  ];
  for (const [who, scope, expected] of matrix) {
    it(`grants ${who} [${expected.join(',')}] for ${scope}`, async () => {
      const token = await registryToken(server, creds(who), `repository:${scope}`);
      const [name] = scope.split(':');
      assert.deepEqual(claims(token).access, [{ type: 'repository', name, actions: expected }]);
    });
  }

  async function tagsList(who: string, name: string): Promise<Response> {
    const c = creds(who);
    const headers: Record<string, string> = {};
    if (c) headers.authorization = `Bearer ${await registryToken(server, c, `repository:${name}:pull`)}`;
    return fetch(`${server.url}/v2/${name}/tags/list`, { headers });
  }

  it('asks an anonymous client to authenticate for a private repository', async () => {
    const anonymousToken = await registryToken(server, null, 'repository:acme/private:pull');
    const variants: Record<string, string>[] = [{}, { authorization: `Bearer ${anonymousToken}` }];
    for (const headers of variants) {
      const res = await fetch(`${server.url}/v2/acme/private/tags/list`, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="http://${server.host}/v2/auth",service="${server.host}",scope="repository:acme/private:pull"`);
      assert.equal(await errorCode(res), 'UNAUTHORIZED');
    }
  });

  it('answers 404 NAME_UNKNOWN to a signed-in caller who may not read, whether the repository exists or not', async () => {
    for (const [who, name] of [['bob', 'acme/private'], ['bob+bot', 'acme/private'], ['bob', 'acme/does-not-exist']]) {
      const res = await tagsList(who!, name!);
      assert.equal(res.status, 404, `${who} ${name}`);
      assert.equal(await errorCode(res), 'NAME_UNKNOWN');
    }
  });

  it('answers 403 DENIED to a reader who tries to push', async () => {
    const token = await registryToken(server, creds('acme+reader'), 'repository:acme/private:pull,push');
    const res = await fetch(`${server.url}/v2/acme/private/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);
    assert.equal(await errorCode(res), 'DENIED');
    const viaBasic = await fetch(`${server.url}/v2/acme/private/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('acme+reader', robots['acme+reader']!) } });
    assert.equal(viaBasic.status, 403);
  });

  it('takes a registry token as the password of its own subject, granting no more than it did', async () => {
    const narrow = await registryToken(server, ALICE, 'repository:acme/private:pull');
    const exchanged = await registryToken(server, { user: 'alice', password: narrow }, 'repository:acme/private:pull,push', 'repository:acme/public:pull');
    assert.deepEqual(claims(exchanged).access, [
      { type: 'repository', name: 'acme/private', actions: ['pull'] },
      { type: 'repository', name: 'acme/public', actions: [] },
    ]);
    const exp = (t: string) => (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
    assert.ok(exp(exchanged) <= exp(narrow), 'an exchanged token never outlives the one it came from');
    const direct = await fetch(`${server.url}/v2/acme/private/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('alice', narrow) } });
    assert.equal(direct.status, 403, 'Basic with the token on /v2 is held to its pull-only grant');
    for (const user of ['bob', 'acme+reader']) {
      const res = await fetch(`${server.url}/v2/auth?service=${server.host}&scope=repository:acme/private:pull`, { headers: { authorization: basic(user, narrow) } });
      assert.equal(res.status, 401, `alice's token is no password for ${user}`);
    }
  });

  it('refuses to create by push a repository /api/v1 would read as another one’s endpoint; existing ones still take pushes', async () => {
    for (const [name, tail, owner] of [['acme/public/tag', 'tag', 'acme/public'], ['acme/app/tag/v1', 'tag/v1', 'acme/app']]) {
      const token = await registryToken(server, ALICE, `repository:${name}:pull,push`);
      const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400, name);
      const error = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;
      assert.equal(error.code, 'NAME_INVALID', name);
      assert.equal(error.message, `cannot create repository ${name} by pushing: the API would read "${tail}" as an endpoint of repository ${owner}, not as part of the name; choose another name`);
      const listed = await fetch(`${server.url}/v2/${name}/tags/list`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(listed.status, 404, `${name} was not created`);
    }
    // A nested name the API can address is created as before; one that exists (made by an admin) takes pushes.
    await server.cli('admin', 'create-repo', 'acme/legacy/tag', '--private');
    for (const name of ['acme/team/app', 'acme/legacy/tag']) {
      const token = await registryToken(server, ALICE, `repository:${name}:pull,push`);
      const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 202, name);
    }
  });

  it('refuses an invalid repository name with NAME_INVALID', async () => {
    const res = await fetch(`${server.url}/v2/Acme/App/tags/list`, { headers: { authorization: basic('alice', ALICE.password) } });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'NAME_INVALID');
  });
});
