import assert from 'node:assert/strict';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, grantedActions, type Creds } from './account-api.js';
import { pushImage, registryTags } from './repo-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const CAROL: Creds = { user: 'carol', password: 'carol-password-3' };

describe(`/api/v1 repositories (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    for (const u of [ALICE, BOB, CAROL]) await admin('create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await admin('create-org', 'acme', '--owner', ALICE.user);
    await admin('create-robot', 'acme+bot');
  });
  after(async () => server?.stop());

  describe('POST /repository', () => {
    it('creates repositories named build, trigger and tag like any other, and views them', async () => {
      for (const name of ['build', 'trigger', 'tag']) {
        const res = await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: name, description: `the ${name} repo`, visibility: 'private' });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.deepEqual(res.body, { namespace: 'acme', name, kind: 'image' });
        const view = await call(server, ALICE, 'GET', `/repository/acme/${name}`);
        assert.equal(view.status, 200);
        assert.equal(view.body.name, name);
        assert.equal(view.body.description, `the ${name} repo`);
        assert.equal(view.body.is_public, false);
      }
    });

    it('creates in the caller\'s own namespace when none is given, and nested names', async () => {
      const res = await call(server, BOB, 'POST', '/repository', { repository: 'tools', visibility: 'public', description: '' });
      assert.equal(res.status, 201);
      assert.deepEqual(res.body, { namespace: 'bob', name: 'tools', kind: 'image' });
      const nested = await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'team/build', visibility: 'private', repo_kind: 'application' });
      assert.equal(nested.status, 201);
      assert.equal(nested.body.kind, 'application');
      const view = await call(server, ALICE, 'GET', '/repository/acme/team/build');
      assert.equal(view.status, 200);
      assert.equal(view.body.name, 'team/build');
      assert.equal(view.body.kind, 'application');
    });

    it('refuses bad input with 400 naming the field, duplicates with 409, unknown namespaces with 404', async () => {
      const cases: [unknown, number, string | undefined][] = [
        [{ namespace: 'acme', repository: 'Bad Name', visibility: 'private' }, 400, 'repository'],
        [{ namespace: 'acme', repository: '-x', visibility: 'private' }, 400, 'repository'],
        [{ namespace: 'acme', visibility: 'private' }, 400, 'repository'],
        [{ namespace: 'acme', repository: 'okname', visibility: 'secret' }, 400, 'visibility'],
        [{ namespace: 'acme', repository: 'okname' }, 400, 'visibility'],
        [{ namespace: 'acme', repository: 'okname', visibility: 'public', repo_kind: 'helm' }, 400, 'repo_kind'],
        // The API could not address it: its tail reads as a permission sub-path.
        [{ namespace: 'acme', repository: 'x/permissions/user/bob', visibility: 'public' }, 400, 'repository'],
        [{ namespace: 'acme', repository: 'build', visibility: 'public' }, 409, 'repository'],
        [{ namespace: 'nosuchns', repository: 'okname', visibility: 'public' }, 404, 'namespace'],
        // A robot is no namespace of its own.
        [{ namespace: 'acme+bot', repository: 'okname', visibility: 'public' }, 404, 'namespace'],
      ];
      for (const [body, status, field] of cases) {
        const res = await call(server, ALICE, 'POST', '/repository', body);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal(res.body.field, field, JSON.stringify(body));
      }
      for (const namespace of ['acme', 'alice']) {
        const list = await call(server, ALICE, 'GET', `/repository?namespace=${namespace}`);
        assert.equal(list.body.repositories.some((r: { name: string }) => r.name === 'okname'), false, 'nothing half-created');
      }
    });

    it('needs the right to create in the namespace', async () => {
      assert.equal((await call(server, null, 'POST', '/repository', { namespace: 'acme', repository: 'x', visibility: 'public' })).status, 401);
      // A namespace bob is not in answers as one that does not exist.
      assert.equal((await call(server, BOB, 'POST', '/repository', { namespace: 'acme', repository: 'x', visibility: 'public' })).status, 404);
      assert.equal((await call(server, BOB, 'POST', '/repository', { namespace: 'alice', repository: 'x', visibility: 'public' })).status, 404);
    });

    it('makes a creator who does not own the namespace an admin of the new repository', async () => {
      // A team with the creator role lets bob create in acme.
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/makers', { role: 'creator' })).status, 200);
      assert.equal((await call(server, ALICE, 'PUT', '/organization/acme/team/makers/members/bob', {})).status, 200);
      assert.equal((await call(server, BOB, 'POST', '/repository', { namespace: 'acme', repository: 'bobs', visibility: 'private' })).status, 201);
      const view = await call(server, BOB, 'GET', '/repository/acme/bobs');
      assert.equal(view.body.can_admin, true);
      const perms = await call(server, BOB, 'GET', '/repository/acme/bobs/permissions/user/');
      assert.equal(perms.body.permissions.bob.role, 'admin');
      // …but gives nothing on the others.
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/build')).status, 404);
    });
  });

  describe('GET /repository/{ns}/{name}', () => {
    it('answers a private repository with 404 to outsiders (401 anonymous), as it answers a missing one', async () => {
      for (const path of ['/repository/acme/build', '/repository/acme/nope']) {
        assert.equal((await call(server, CAROL, 'GET', path)).status, 404, path);
        assert.equal((await call(server, null, 'GET', path)).status, 401, path);
      }
    });

    it('shows a public repository to anybody, with what the caller may do and its current tags', async () => {
      await call(server, BOB, 'POST', '/repository', { repository: 'app', visibility: 'public' });
      const digest = await pushImage(server, BOB, 'bob/app', 'v1');
      const own = await call(server, BOB, 'GET', '/repository/bob/app');
      assert.equal(own.status, 200);
      assert.equal(own.body.namespace, 'bob');
      assert.equal(own.body.is_organization, false);
      assert.equal(own.body.can_admin, true);
      assert.equal(own.body.can_write, true);
      assert.equal(own.body.state, 'NORMAL');
      assert.equal(own.body.tag_expiration_s, 1209600);
      assert.equal(own.body.tags.v1.manifest_digest, digest);
      assert.match(own.body.tags.v1.last_modified, /-0000$/);
      for (const who of [CAROL, null]) {
        const res = await call(server, who, 'GET', '/repository/bob/app');
        assert.equal(res.status, 200);
        assert.equal(res.body.can_write, false);
        assert.equal(res.body.can_admin, false);
        assert.deepEqual(Object.keys(res.body.tags), ['v1']);
      }
    });
  });

  describe('GET /repository', () => {
    const names = (body: { repositories: { namespace: string; name: string }[] }) => body.repositories.map((r) => `${r.namespace}/${r.name}`).sort();

    it('lists what the caller may read: a namespace, and with public=true the public repositories of others', async () => {
      const alice = await call(server, ALICE, 'GET', '/repository?namespace=acme');
      assert.equal(alice.status, 200);
      assert.deepEqual(names(alice.body), ['acme/bobs', 'acme/build', 'acme/tag', 'acme/trigger']);
      // As in Quay, a list holds one kind of repository: images unless repo_kind says otherwise.
      assert.deepEqual(names((await call(server, ALICE, 'GET', '/repository?namespace=acme&repo_kind=application')).body), ['acme/team/build']);
      assert.equal(alice.body.repositories[0].is_starred, false);
      assert.deepEqual(names((await call(server, CAROL, 'GET', '/repository?namespace=acme')).body), []);
      // Without public=true, others' public repositories are left out even though carol could read them.
      assert.deepEqual(names((await call(server, CAROL, 'GET', '/repository?namespace=bob')).body), []);
      assert.deepEqual(names((await call(server, CAROL, 'GET', '/repository?namespace=bob&public=true')).body), ['bob/app', 'bob/tools']);
      const anon = await call(server, null, 'GET', '/repository?public=true');
      assert.deepEqual(names(anon.body), ['bob/app', 'bob/tools']);
      assert.equal('is_starred' in anon.body.repositories[0], false);
      assert.deepEqual((await call(server, BOB, 'GET', '/repository?starred=true')).body, { repositories: [] });
    });

    it('adds last_modified and popularity when asked', async () => {
      const res = await call(server, BOB, 'GET', '/repository?namespace=bob&last_modified=true&popularity=true');
      const app = res.body.repositories.find((r: { name: string }) => r.name === 'app');
      const tools = res.body.repositories.find((r: { name: string }) => r.name === 'tools');
      assert.equal(typeof app.last_modified, 'number');
      assert.ok(Math.abs(app.last_modified - Date.now() / 1000) < 600);
      assert.equal(tools.last_modified, null);
      assert.equal(typeof app.popularity, 'number');
      const plain = await call(server, BOB, 'GET', '/repository?namespace=bob');
      assert.equal('last_modified' in plain.body.repositories[0], false);
    });

    it('pages with an opaque next_page token', async () => {
      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const res = await call(server, ALICE, 'GET', `/repository?namespace=acme&limit=2${next ? `&next_page=${next}` : ''}`);
        assert.equal(res.status, 200);
        assert.ok(res.body.repositories.length <= 2);
        seen.push(...res.body.repositories.map((r: { name: string }) => r.name));
        next = res.body.next_page;
        pages++;
      } while (next);
      assert.equal(pages, 2);
      assert.deepEqual(seen.sort(), ['bobs', 'build', 'tag', 'trigger']);
    });

    it('refuses a list with neither namespace, starred nor public, and a forged page token', async () => {
      const none = await call(server, ALICE, 'GET', '/repository');
      assert.equal(none.status, 400);
      assert.equal(none.body.field, 'namespace');
      const forged = await call(server, ALICE, 'GET', '/repository?namespace=acme&next_page=not-a-token');
      assert.equal(forged.status, 400);
      assert.equal(forged.body.field, 'next_page');
      assert.equal((await call(server, null, 'GET', '/repository?starred=true')).status, 400);
    });
  });

  describe('OAuth tokens', () => {
    let clientId: string;
    const mint = async (scope: string): Promise<string> => {
      const res = await call(server, ALICE, 'POST', `/organization/acme/applications/${clientId}/tokens`, { name: `t ${scope}`, scope });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.token;
    };
    const withToken = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      });
      return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };

    before(async () => {
      const app = await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'scripts' });
      assert.equal(app.status, 200, JSON.stringify(app.body));
      clientId = app.body.client_id;
    });

    it('creates repositories only with repo:create', async () => {
      const reader = await mint('repo:read');
      assert.equal((await withToken(reader, 'POST', '/repository', { namespace: 'acme', repository: 'viatoken', visibility: 'private' })).status, 403);
      const creator = await mint('repo:create');
      const res = await withToken(creator, 'POST', '/repository', { namespace: 'acme', repository: 'viatoken', visibility: 'private' });
      assert.equal(res.status, 201);
      assert.deepEqual(res.body, { namespace: 'acme', name: 'viatoken', kind: 'image' });
    });

    it('caps what a token may do on repositories by its repo:* scope', async () => {
      const reader = await mint('repo:read');
      const view = await withToken(reader, 'GET', '/repository/acme/build');
      assert.equal(view.status, 200);
      assert.deepEqual([view.body.can_write, view.body.can_admin], [false, false]);
      assert.equal((await withToken(reader, 'PUT', '/repository/acme/build', { description: 'x' })).status, 403);
      assert.equal((await withToken(reader, 'GET', '/repository/acme/build/permissions/user/')).status, 403);
      const admin = await mint('repo:admin');
      assert.equal((await withToken(admin, 'GET', '/repository/acme/build/permissions/user/')).status, 200);
      // Without any repo:* scope a token lists and sees only what anybody may.
      const userOnly = await mint('user:read');
      assert.deepEqual((await withToken(userOnly, 'GET', '/repository?namespace=acme')).body.repositories, []);
      assert.equal((await withToken(userOnly, 'GET', '/repository/acme/build')).status, 404);
      assert.ok((await withToken(reader, 'GET', '/repository?namespace=acme')).body.repositories.length > 0);
    });
  });

  describe('changing a repository', () => {
    before(async () => {
      await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'web', visibility: 'private' });
      await call(server, ALICE, 'PUT', '/repository/acme/web/permissions/user/carol', { role: 'write' });
    });

    it('lets writers change the description, and not readers', async () => {
      const res = await call(server, CAROL, 'PUT', '/repository/acme/web', { description: 'the website' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { success: true });
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/web')).body.description, 'the website');
      assert.equal((await call(server, CAROL, 'PUT', '/repository/acme/web', {})).body.field, 'description');
      await call(server, ALICE, 'PUT', '/repository/acme/web/permissions/user/carol', { role: 'read' });
      assert.equal((await call(server, CAROL, 'PUT', '/repository/acme/web', { description: 'x' })).status, 403);
      assert.equal((await call(server, BOB, 'PUT', '/repository/acme/web', { description: 'x' })).status, 404);
    });

    it('lets admins change the visibility', async () => {
      assert.equal((await call(server, CAROL, 'POST', '/repository/acme/web/changevisibility', { visibility: 'public' })).status, 403);
      const bad = await call(server, ALICE, 'POST', '/repository/acme/web/changevisibility', { visibility: 'open' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, 'visibility');
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/web')).status, 404);
      assert.equal((await call(server, ALICE, 'POST', '/repository/acme/web/changevisibility', { visibility: 'public' })).status, 200);
      const seen = await call(server, BOB, 'GET', '/repository/acme/web');
      assert.equal(seen.status, 200);
      assert.equal(seen.body.is_public, true);
      await call(server, ALICE, 'POST', '/repository/acme/web/changevisibility', { visibility: 'private' });
      assert.equal((await call(server, BOB, 'GET', '/repository/acme/web')).status, 404);
    });

    it('makes a READ_ONLY repository refuse push tokens, and NORMAL restores them', async () => {
      const scope = 'repository:acme/web:pull,push';
      assert.deepEqual((await grantedActions(server, ALICE, scope)).actions, ['pull', 'push']);
      assert.equal((await call(server, CAROL, 'PUT', '/repository/acme/web/changestate', { state: 'READ_ONLY' })).status, 403);
      const res = await call(server, ALICE, 'PUT', '/repository/acme/web/changestate', { state: 'READ_ONLY' });
      assert.equal(res.status, 200);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/web')).body.state, 'READ_ONLY');
      assert.deepEqual((await grantedActions(server, ALICE, scope)).actions, ['pull']);
      assert.deepEqual((await grantedActions(server, ALICE, 'repository:acme/web:*')).actions, []);
      await call(server, ALICE, 'PUT', '/repository/acme/web/changestate', { state: 'NORMAL' });
      assert.deepEqual((await grantedActions(server, ALICE, scope)).actions, ['pull', 'push']);
    });

    it('refuses the MIRROR state (no mirroring yet) and unknown states with 400 naming state', async () => {
      for (const state of ['MIRROR', 'FROZEN']) {
        const res = await call(server, ALICE, 'PUT', '/repository/acme/web/changestate', { state });
        assert.equal(res.status, 400, state);
        assert.equal(res.body.field, 'state');
      }
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/web')).body.state, 'NORMAL');
    });

    it('deletes a repository with its tags and permissions; admins only', async () => {
      await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'doomed', visibility: 'private' });
      await pushImage(server, ALICE, 'acme/doomed', 'latest');
      await call(server, ALICE, 'PUT', '/repository/acme/doomed/permissions/user/carol', { role: 'write' });
      assert.equal((await call(server, CAROL, 'DELETE', '/repository/acme/doomed')).status, 403);
      assert.equal((await call(server, BOB, 'DELETE', '/repository/acme/doomed')).status, 404);
      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/doomed')).status, 204);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/doomed')).status, 404);
      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/doomed')).status, 404);
      assert.equal(await registryTags(server, ALICE, 'acme/doomed'), null);
      // A new repository of the same name starts empty: no old tags, no old permissions.
      assert.equal((await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'doomed', visibility: 'private' })).status, 201);
      assert.deepEqual((await call(server, ALICE, 'GET', '/repository/acme/doomed')).body.tags, {});
      assert.deepEqual(await registryTags(server, ALICE, 'acme/doomed'), []);
      // Only the creator's own admin row (Quay gives one to a creator who does not own the namespace).
      assert.deepEqual(Object.keys((await call(server, ALICE, 'GET', '/repository/acme/doomed/permissions/user/')).body.permissions), ['alice']);
      assert.equal((await call(server, CAROL, 'GET', '/repository/acme/doomed')).status, 404);
    });

    it('routes the repositories named build, trigger and tag through every sub-path', async () => {
      for (const name of ['build', 'trigger', 'tag']) {
        const base = `/repository/acme/${name}`;
        assert.equal((await call(server, ALICE, 'PUT', base, { description: `new ${name}` })).status, 200);
        assert.equal((await call(server, ALICE, 'POST', `${base}/changevisibility`, { visibility: 'public' })).status, 200);
        assert.equal((await call(server, ALICE, 'PUT', `${base}/changestate`, { state: 'READ_ONLY' })).status, 200);
        const view = await call(server, ALICE, 'GET', base);
        assert.deepEqual([view.body.name, view.body.description, view.body.is_public, view.body.state], [name, `new ${name}`, true, 'READ_ONLY']);
      }
      assert.equal((await call(server, ALICE, 'DELETE', '/repository/acme/trigger')).status, 204);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/trigger')).status, 404);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/build')).status, 200);
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/build/nonsense/path')).status, 404);
      assert.equal((await call(server, ALICE, 'PATCH', '/repository/acme/build')).status, 404);
    });

    it('records every change in the usage logs, with its performer', async () => {
      const logs: { kind: string; performer?: { name: string }; metadata: Record<string, unknown> }[] = [];
      let next: string | undefined;
      do {
        const res = await call(server, ALICE, 'GET', `/organization/acme/logs${next ? `?next_page=${next}` : ''}`);
        assert.equal(res.status, 200);
        logs.push(...res.body.logs);
        next = res.body.next_page;
      } while (next);
      const about = (repo: string) => logs.filter((l) => l.metadata.repo === repo).map((l) => `${l.kind} by ${l.performer?.name}`).reverse();
      assert.deepEqual(about('web').filter((l) => !l.includes('permission')), [
        'create_repo by alice',
        'set_repo_description by carol',
        'change_repo_visibility by alice',
        'change_repo_visibility by alice',
        'change_repo_state by alice',
        'change_repo_state by alice',
      ]);
      assert.deepEqual(about('doomed').filter((l) => !l.includes('permission')), [
        'create_repo by alice',
        'push_repo by alice',
        'delete_repo by alice',
        'create_repo by alice',
      ]);
      assert.deepEqual(about('bobs'), ['create_repo by bob']);
    });
  });

  describe('request bodies', () => {
    /** Sends `body` as is, declared as JSON (as Quay's documented curl calls do). */
    const raw = async (method: string, path: string, body: string) => {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method, body, headers: { authorization: basic(ALICE.user, ALICE.password), 'content-type': 'application/json' },
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    it('takes an empty body declared as JSON as no body', async () => {
      assert.equal((await call(server, ALICE, 'POST', '/repository', { namespace: 'acme', repository: 'bodyless', visibility: 'private' })).status, 201);
      const res = await raw('DELETE', '/repository/acme/bodyless', '');
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.equal((await call(server, ALICE, 'GET', '/repository/acme/bodyless')).status, 404);
      assert.equal((await raw('PUT', '/organization/acme/team/owners/members/bob', '')).status, 200);
      // A body the endpoint needs is still asked for, by its field.
      const missing = await raw('POST', '/repository', '');
      assert.equal(missing.status, 400);
      assert.equal(missing.body.field, 'repository');
    });

    it('refuses malformed JSON with 400 naming the body, and creates nothing', async () => {
      for (const body of ['{"namespace": "acme", "repository": "broken",', 'not json', '{"__proto__": {"x": 1}, "repository": "broken"}']) {
        const res = await raw('POST', '/repository', body);
        assert.equal(res.status, 400, body);
        assert.equal(res.body.field, 'body', body);
        assert.equal(res.body.error_type, 'invalid_request');
        assert.match(res.body.error_message, /not valid JSON/);
      }
      const list = await call(server, ALICE, 'GET', '/repository?namespace=acme');
      assert.equal(list.body.repositories.some((r: { name: string }) => r.name === 'broken'), false);
    });
  });
});
