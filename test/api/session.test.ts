// The web session: POST /api/v1/signin, the cookie, its CSRF token, and what ends a session.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { createDb, type Db } from '../../src/db/index.js';
import { basic, freshPostgres, startServer, TEST_DB, type ServerOptions, type TestServer } from '../support/server.js';
import { call, entriesOf, usageLogs, type Creds } from './account-api.js';

const ROOT: Creds = { user: 'root', password: 'root-password-1' };
const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const COOKIE = 'slipway_session';
const REDIRECT = 'http://127.0.0.1:9/callback';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** A browser-like client: keeps the session cookie it is given and sends it back, nothing else. */
class Browser {
  cookie: string | null = null;
  constructor(private readonly server: TestServer) {}

  async send(method: string, path: string, opts: { json?: unknown; form?: Record<string, string>; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.cookie) headers.cookie = `other=1; ${COOKIE}=${this.cookie}`;
    let body = opts.raw;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const res = await fetch(`${this.server.url}${path}`, { method, headers, body, redirect: 'manual' });
    const set = res.headers.get('set-cookie');
    const m = set ? new RegExp(`^${COOKIE}=([^;]*)`).exec(set) : null;
    if (m) this.cookie = /Max-Age=0(;|$)/.test(set!) ? null : m[1]!;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (a redirect's empty body)
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  signIn(who: Creds): Promise<Answer> {
    return this.send('POST', '/api/v1/signin', { json: { username: who.user, password: who.password } });
  }

  async csrfToken(): Promise<string> {
    const res = await this.send('GET', '/csrf_token');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.csrf_token;
  }

  /** A state-changing /api/v1 call with the session's CSRF token. */
  async write(method: string, path: string, json?: unknown): Promise<Answer> {
    return this.send(method, `/api/v1${path}`, { json, headers: { 'x-csrf-token': await this.csrfToken() } });
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe(`/api/v1 web sessions (${TEST_DB})`, function () {
  let server: TestServer;
  let db: Db;

  async function start(opts: ServerOptions = {}): Promise<{ server: TestServer; db: Db; stop(): Promise<void> }> {
    // A database of our own, so that the test can look at the sessions table.
    const pg = TEST_DB === 'postgres' ? await freshPostgres() : null;
    const s = await startServer({ ...opts, ...(pg ? { databaseUrl: pg.url } : {}) });
    const d = createDb(pg ? pg.url : `sqlite:${path.join(s.dataDir, 'slipway.db')}`);
    return {
      server: s, db: d,
      async stop() {
        await d.destroy();
        await s.stop();
        await pg?.drop();
      },
    };
  }
  let stopMain: () => Promise<void>;

  const user = async (who: Creds, ...extra: string[]) =>
    server.cli('admin', 'create-user', who.user, '--email', `${who.user}@example.com`, '--password', who.password, ...extra);
  const sessionsOf = async (name: string) =>
    db('sessions as s').join('accounts as a', 'a.id', 's.account_id').where('a.name', name).select('s.*');

  before(async () => {
    const h = await start();
    server = h.server;
    db = h.db;
    stopMain = h.stop;
    await user(ROOT, '--superuser');
    await user(ALICE);
    await user(BOB);
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
  });
  after(async () => stopMain?.());

  describe('POST /api/v1/signin', () => {
    it('starts a session: an HttpOnly, SameSite=Lax cookie that alone signs GET /api/v1/user/ in', async () => {
      const b = new Browser(server);
      const res = await b.signIn(ALICE);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { success: true });
      const set = res.headers.get('set-cookie')!;
      assert.match(set, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; `));
      for (const attr of ['HttpOnly', 'SameSite=Lax', 'Path=/', `Max-Age=${31 * 86_400}`]) assert.ok(set.split('; ').includes(attr), `${attr} in ${set}`);
      assert.ok(!/Secure/.test(set), 'not Secure over http');
      const me = await b.send('GET', '/api/v1/user/');
      assert.equal(me.status, 200);
      assert.equal(me.body.username, 'alice');
      assert.equal(await b.csrfToken(), res.headers.get('x-next-csrf-token'), 'the signin answer carries the CSRF token');
      assert.equal((await new Browser(server).send('GET', '/api/v1/user/')).status, 401, 'no cookie, nobody');
    });

    it('refuses a wrong password or an unknown user with 403 in Quay\'s shape, and sets no cookie', async () => {
      for (const who of [{ user: 'alice', password: 'wrong-password' }, { user: 'nobody', password: 'whatever-pass' }]) {
        const b = new Browser(server);
        const res = await b.signIn(who);
        assert.equal(res.status, 403);
        assert.deepEqual(res.body, { needsEmailVerification: false, invalidCredentials: true, message: 'Invalid Username or Password' });
        assert.equal(res.headers.get('set-cookie'), null);
      }
    });

    it('refuses robots: they use the registry only', async () => {
      const robot = await call(server, ALICE, 'PUT', '/user/robots/signer');
      assert.equal(robot.status, 201);
      const res = await new Browser(server).signIn({ user: 'alice+signer', password: robot.body.token });
      assert.equal(res.status, 403);
      assert.equal(res.body.invalidCredentials, true);
      assert.match(res.body.message, /robots use the registry only/);
      assert.equal(res.headers.get('set-cookie'), null);
      assert.equal((await sessionsOf('alice+signer')).length, 0);
    });

    it('refuses missing or blank fields with 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ password: 'alice-password-1' }, 'username'],
        [{ username: '  ', password: 'alice-password-1' }, 'username'],
        [{ username: 'alice' }, 'password'],
        [{ username: 'alice', password: '' }, 'password'],
        [{ username: 'alice', password: 'alice-password-1', remember: true }, 'remember'],
      ];
      // A cross-site form can post text/plain, never JSON: such a body signs nobody in.
      const form = await new Browser(server).send('POST', '/api/v1/signin', {
        headers: { 'content-type': 'text/plain' }, raw: JSON.stringify({ username: 'alice', password: ALICE.password }),
      });
      assert.equal(form.status, 400);
      assert.equal(form.headers.get('set-cookie'), null);
      for (const [json, field] of cases) {
        const res = await new Browser(server).send('POST', '/api/v1/signin', { json });
        assert.equal(res.status, 400, JSON.stringify(json));
        assert.equal(res.body.field, field, JSON.stringify(json));
        assert.equal(res.headers.get('set-cookie'), null);
      }
    });

    it('refuses a disabled user, and a disabled user\'s session stops working', async () => {
      const carol: Creds = { user: 'carol', password: 'carol-password-1' };
      await user(carol);
      const b = new Browser(server);
      assert.equal((await b.signIn(carol)).status, 200);
      await db('accounts').where({ name: 'carol' }).update({ enabled: false });
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 401);
      assert.equal((await new Browser(server).signIn(carol)).status, 403);
      await db('accounts').where({ name: 'carol' }).update({ enabled: true });
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 200);
    });

    it('records login_success and logout_success, as Quay does', async () => {
      const b = new Browser(server);
      await b.signIn(BOB);
      assert.equal((await b.write('POST', '/signout')).status, 200);
      const logs = await usageLogs(server, ROOT);
      assert.ok(entriesOf(logs, 'login_success', 'type').includes('bob@bob quayauth'), JSON.stringify(entriesOf(logs, 'login_success', 'type')));
      assert.deepEqual(entriesOf(logs, 'logout_success'), ['bob@bob']);
    });
  });

  describe('CSRF', () => {
    it('refuses a write signed in by the cookie without the session\'s X-CSRF-Token, and changes nothing', async () => {
      const b = new Browser(server);
      await b.signIn(ALICE);
      const missing = await b.send('POST', '/api/v1/organization/', { json: { name: 'csrfless' } });
      assert.equal(missing.status, 403);
      assert.match(missing.body.error_message, /CSRF token was invalid or missing.*X-CSRF-Token/);
      const other = new Browser(server);
      await other.signIn(ALICE);
      const wrong = await b.send('POST', '/api/v1/organization/', { json: { name: 'csrfless' }, headers: { 'x-csrf-token': await other.csrfToken() } });
      assert.equal(wrong.status, 403, 'another session\'s token is not this one\'s');
      assert.equal((await call(server, ROOT, 'GET', '/organization/csrfless')).status, 404, 'nothing was created');

      const ok = await b.write('POST', '/organization/', { name: 'csrfless' });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.equal((await call(server, ALICE, 'GET', '/organization/csrfless')).status, 200);
    });

    it('lets an Authorization header win over the cookie, with no CSRF token needed', async () => {
      const b = new Browser(server);
      await b.signIn(ALICE);
      const me = await b.send('GET', '/api/v1/user/', { headers: { authorization: basic(BOB.user, BOB.password) } });
      assert.equal(me.body.username, 'bob');
      const made = await b.send('POST', '/api/v1/organization/', { json: { name: 'bobsorg' }, headers: { authorization: basic(BOB.user, BOB.password) } });
      assert.equal(made.status, 201);
      assert.equal((await call(server, BOB, 'GET', '/organization/bobsorg')).status, 200);
    });

    it('GET /csrf_token without a session is 401', async () => {
      const res = await new Browser(server).send('GET', '/csrf_token');
      assert.equal(res.status, 401);
      assert.match(res.body.error_message, /sign in first/);
    });
  });

  describe('ending sessions', () => {
    it('POST /api/v1/signout ends the session on the server and clears the cookie', async () => {
      const b = new Browser(server);
      await b.signIn(ALICE);
      const cookie = b.cookie!;
      assert.equal((await b.send('POST', '/api/v1/signout')).status, 403, 'signing out needs the CSRF token too');
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 200);
      const out = await b.write('POST', '/signout');
      assert.equal(out.status, 200);
      assert.deepEqual(out.body, { success: true });
      assert.match(out.headers.get('set-cookie')!, new RegExp(`^${COOKIE}=; .*Max-Age=0`));
      assert.equal(b.cookie, null);
      b.cookie = cookie;
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 401, 'a copy of the old cookie is worth nothing');
      assert.equal(await db('sessions').where({ id: sha256(cookie) }).first(), undefined);
    });

    it('a password change ends the user\'s other sessions and gives the changing browser a new one', async () => {
      const dave: Creds = { user: 'dave', password: 'dave-password-1' };
      await user(dave);
      const [changer, other] = [new Browser(server), new Browser(server)];
      await changer.signIn(dave);
      await other.signIn(dave);
      const oldCookie = changer.cookie!;
      const res = await changer.write('PUT', '/user/', { password: 'dave-password-2' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.notEqual(changer.cookie, oldCookie, 'the changing browser got a new cookie');
      assert.equal((await changer.send('GET', '/api/v1/user/')).body.username, 'dave');
      assert.equal((await other.send('GET', '/api/v1/user/')).status, 401);
      const stolen = new Browser(server);
      stolen.cookie = oldCookie;
      assert.equal((await stolen.send('GET', '/api/v1/user/')).status, 401, 'the old cookie of the changing browser ended too');
      assert.equal((await sessionsOf('dave')).length, 1);

      // Changed with Basic, the password ends every session.
      assert.equal((await call(server, { user: 'dave', password: 'dave-password-2' }, 'PUT', '/user/', { password: 'dave-password-3' })).status, 200);
      assert.equal((await changer.send('GET', '/api/v1/user/')).status, 401);
      assert.equal((await sessionsOf('dave')).length, 0);
      assert.equal((await new Browser(server).signIn({ user: 'dave', password: 'dave-password-3' })).status, 200);
    });

    it('deleting the user deletes its sessions', async () => {
      const erin: Creds = { user: 'erin', password: 'erin-password-1' };
      await user(erin);
      const b = new Browser(server);
      await b.signIn(erin);
      assert.equal((await sessionsOf('erin')).length, 1);
      assert.equal((await call(server, ROOT, 'DELETE', '/superuser/users/erin')).status, 204);
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 401);
      assert.equal(await db('sessions').where({ id: sha256(b.cookie!) }).first(), undefined);
    });

    it('refuses an expired session and deletes it', async () => {
      const b = new Browser(server);
      await b.signIn(BOB);
      const id = sha256(b.cookie!);
      await db('sessions').where({ id }).update({ expires_at: Date.now() - 1000 });
      assert.equal((await b.send('GET', '/api/v1/user/')).status, 401);
      assert.equal(await db('sessions').where({ id }).first(), undefined);

      // One never presented again is swept by the next sign-in, anyone's.
      const forgotten = new Browser(server);
      await forgotten.signIn(BOB);
      const forgottenId = sha256(forgotten.cookie!);
      await db('sessions').where({ id: forgottenId }).update({ expires_at: Date.now() - 1000 });
      await new Browser(server).signIn(ALICE);
      assert.equal(await db('sessions').where({ id: forgottenId }).first(), undefined);
    });

    it('stores only the SHA-256 of the cookie value', async () => {
      const b = new Browser(server);
      await b.signIn(BOB);
      const rows = await db('sessions');
      assert.ok(rows.length > 0);
      for (const row of rows) assert.ok(!JSON.stringify(row).includes(b.cookie!), 'no column holds the cookie value');
      const mine = await db('sessions').where({ id: sha256(b.cookie!) }).first();
      assert.ok(mine, 'the row is found by the hash');
      assert.equal(Number(mine.expires_at) - Number(mine.created_at), 31 * 86_400 * 1000);
    });
  });

  describe('/oauth/authorize through the session', () => {
    let app: { client_id: string; client_secret: string };
    const params = () => new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT, scope: 'user:read', state: 's-9' });

    before(async () => {
      const res = await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'web', redirect_uri: REDIRECT });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      app = res.body;
    });

    it('GET describes the consent without granting it; POST grants it only with the CSRF token', async () => {
      const b = new Browser(server);
      await b.signIn(BOB);
      const shown = await b.send('GET', `/oauth/authorize?${params()}`);
      assert.equal(shown.status, 200, 'a followed link grants nothing');
      assert.equal(shown.body.user, 'bob');
      assert.equal(shown.body.scope, 'user:read');
      assert.equal(shown.body.application.client_id, app.client_id);

      const forged = await b.send('POST', `/oauth/authorize?${params()}`);
      assert.equal(forged.status, 403);
      assert.equal(forged.body.error, 'access_denied');
      assert.match(forged.body.error_description, /CSRF/);

      const granted = await b.send('POST', '/oauth/authorize', { form: { ...Object.fromEntries(params()), _csrf_token: await b.csrfToken() } });
      assert.equal(granted.status, 302, JSON.stringify(granted.body));
      const location = new URL(granted.headers.get('location')!);
      assert.equal(location.searchParams.get('state'), 's-9');
      const code = location.searchParams.get('code')!;
      const token = await fetch(`${server.url}/oauth/access_token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: app.client_id, client_secret: app.client_secret, code, redirect_uri: REDIRECT }).toString(),
      });
      assert.equal(token.status, 200);
      const { access_token } = (await token.json()) as { access_token: string };
      assert.equal((await call(server, { token: access_token }, 'GET', '/user/')).body.username, 'bob');

      const byHeader = await b.send('POST', `/oauth/authorize?${params()}`, { headers: { 'x-csrf-token': await b.csrfToken() } });
      assert.equal(byHeader.status, 302);
      assert.ok(new URL(byHeader.headers.get('location')!).searchParams.get('code'));
    });

    it('still takes Basic, and without either asks to sign in', async () => {
      const viaBasic = await fetch(`${server.url}/oauth/authorize?${params()}`, { redirect: 'manual', headers: { authorization: basic(BOB.user, BOB.password) } });
      assert.equal(viaBasic.status, 302);
      const nobody = await new Browser(server).send('GET', `/oauth/authorize?${params()}`);
      assert.equal(nobody.status, 401);
      assert.match(nobody.body.error_description, /signin/);
    });
  });

  it('marks the cookie Secure when PREFERRED_URL_SCHEME is https, and lasts PERMANENT_SESSION_LIFETIME', async () => {
    const h = await start({ config: { PREFERRED_URL_SCHEME: 'https', PERMANENT_SESSION_LIFETIME: 120 } });
    try {
      await h.server.cli('admin', 'create-user', 'alice', '--email', 'alice@example.com', '--password', ALICE.password);
      const b = new Browser(h.server);
      const res = await b.signIn(ALICE);
      const parts = res.headers.get('set-cookie')!.split('; ');
      assert.ok(parts.includes('Secure'), parts.join('; '));
      assert.ok(parts.includes('Max-Age=120'), parts.join('; '));
      const row = await h.db('sessions').where({ id: sha256(b.cookie!) }).first();
      assert.equal(Number(row.expires_at) - Number(row.created_at), 120_000);
    } finally {
      await h.stop();
    }
  });

  it('stops at start-up on a PERMANENT_SESSION_LIFETIME under a minute, naming the key', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-config-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'PERMANENT_SESSION_LIFETIME: 5\n');
    try {
      assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => err instanceof ConfigError && /^  PERMANENT_SESSION_LIFETIME: /m.test(err.message));
      assert.equal(loadConfig({ env: {} }).PERMANENT_SESSION_LIFETIME, 2_678_400, "Quay's default: 31 days");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
