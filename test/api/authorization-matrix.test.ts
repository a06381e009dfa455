// The authorization matrix of issue 3: every /api/v1 endpoint and every registry action, for
// anonymous, another user, a reader, a writer, a repository admin, a team member of each role, a
// robot, an OAuth token with and without the scope the endpoint needs, and a superuser. Each cell
// is written below as the rules (the issue, and Quay's semantics) say it must come out; nothing is
// computed from the policy module, so a wrong rule there shows up here as a failing cell.
//
// The server runs with quota management and builds on, so that their endpoints are here too.
// Builds go to a Podman socket that accepts connections and never answers: each waits out its
// executor's ping there, so a build stays queued or starting, and cancellable, while the cells run.
//
// Outcomes: `ok` is any 2xx; `401` nobody signed in (or a robot, which may not use /api/v1);
// `403` signed in but short of a role or a scope; `404` the thing stays hidden (a private
// repository one may not read, an organization one is not in). Registry token rows give the
// actions /v2/auth grants (`-` for none); a few rows observe what a call shows instead (`yes`/`no`:
// whether a list holds an entry; `mount`/`upload`: how a cross-repository mount was answered).
//
// Signed-in users act through an OAuth token holding every scope they may hold (obtained with the
// authorization flow): the same rights their password gives, without paying for a password hash
// on every call. The two token columns belong to alice, who owns `acme` (root for the superuser
// endpoints): `token+` holds only the scope the row needs, `token-` every other scope except those
// that imply the needed one (repo:admin ⊃ repo:write ⊃ repo:read, user:admin ⊃ user:read).
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { DOCKERFILE } from '../buildman/archives.js';

type Scope = 'repo:read' | 'repo:write' | 'repo:admin' | 'repo:create' | 'user:read' | 'user:admin' | 'org:admin' | 'super:user';
const USER_SCOPES: Scope[] = ['repo:read', 'repo:write', 'repo:admin', 'repo:create', 'user:read', 'user:admin', 'org:admin'];
const ALL_SCOPES: Scope[] = [...USER_SCOPES, 'super:user'];
/** The scopes that carry another's rights with them (Quay's SCOPE_MAX_*_ROLES). */
const IMPLIED_BY: Partial<Record<Scope, Scope[]>> = {
  'repo:read': ['repo:write', 'repo:admin'],
  'repo:write': ['repo:admin'],
  'user:read': ['user:admin'],
};

const COLUMNS = ['anonymous', 'outsider', 'reader', 'writer', 'repoadmin', 'member', 'creator', 'orgadmin', 'robot', 'token+', 'token-', 'superuser'] as const;
type Column = (typeof COLUMNS)[number];
/** What each column is, for the test names. */
const WHO: Record<Column, string> = {
  anonymous: 'anonymous',
  outsider: 'outsider (no relation to acme)',
  reader: 'reader (read on acme/private)',
  writer: 'writer (write on acme/private)',
  repoadmin: 'repoadmin (admin on acme/private)',
  member: 'member (acme team, role member)',
  creator: 'creator (acme team, role creator)',
  orgadmin: 'orgadmin (acme team, role admin)',
  robot: 'robot acme+bot (read on acme/private)',
  'token+': 'token+',
  'token-': 'token-',
  superuser: 'superuser',
};

type Caller = { bearer: string } | { basic: [string, string] } | null;

interface Cell {
  row: Row;
  col: Column;
  /** Who makes the request. */
  caller: Caller;
  /** The full-powered account behind the column (its own token; alice or root for token columns), for setting up in its own namespace. */
  owner: Caller;
}

interface Target {
  path: string;
  /** JSON, or a FormData sent as multipart. */
  body?: unknown;
  /** Acts as someone else than the column's caller: a fresh twin of the principal, when the target is the caller itself. */
  caller?: Caller;
}

interface Row {
  /** `METHOD /api/v1/…` as GET /api/v1/discovery names the operation, or `registry …`. */
  op: string;
  /** What the test names show. */
  show: string;
  /** The scope a token needs here (null: none, any credentials serve). */
  scope: Scope | null;
  /** Whose tokens the token columns are. */
  tokenOwner: 'alice' | 'root';
  expect: Record<Column, string>;
  run(cell: Cell): Promise<{ outcome: string; detail: string }>;
}

function expectations(line: string, op: string): Record<Column, string> {
  const parts = line.trim().split(/\s+/);
  if (parts.length !== COLUMNS.length) throw new Error(`${op}: ${parts.length} expectations for ${COLUMNS.length} columns`);
  return Object.fromEntries(COLUMNS.map((c, i) => [c, parts[i]!])) as Record<Column, string>;
}

let seq = 0;
/** A name nobody used yet. */
const fresh = (prefix: string) => `${prefix}${++seq}`;

const REDIRECT = 'http://127.0.0.1:9/callback';
/** Nothing listens on port 1: a trigger's clone fails at once. */
const UNREACHABLE_SOURCE = 'ssh://git@127.0.0.1:1/app.git';

/** A build request: a Dockerfile alone as the context (multipart, as `file`). */
function buildForm(fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([DOCKERFILE]), 'Dockerfile');
  return form;
}

describe(`authorization matrix over /api/v1 and /v2 (${TEST_DB})`, function () {
  let server: TestServer;
  let clientId = '';
  /** Each column's caller; the token columns are looked up per row. */
  const callers = {} as Record<Exclude<Column, 'token+' | 'token-'>, Caller>;
  const passwords: Record<string, string> = {};
  let alice: Caller = null;
  let root: Caller = null;
  let robot: Caller = null;
  /** Scoped tokens, by owner and scope list. */
  const tokens = new Map<string, string>();
  /** Export links POSTed to our callback. */
  const exported: string[] = [];
  let hook: http.Server;
  let callbackUrl = '';
  /** The Podman socket that never answers (see the top). */
  let podman: net.Server;
  const podmanSockets = new Set<net.Socket>();
  let podmanDir = '';

  // ---- HTTP helpers -------------------------------------------------------------------------

  function authHeader(who: Caller): Record<string, string> {
    if (!who) return {};
    return { authorization: 'bearer' in who ? `Bearer ${who.bearer}` : basic(who.basic[0], who.basic[1]) };
  }

  /** Basic credentials for /v2/auth: a user's OAuth token goes as the password of `$oauthtoken`, as `docker login` sends it. */
  function registryLogin(who: Caller): Record<string, string> {
    if (!who) return {};
    return { authorization: 'bearer' in who ? basic('$oauthtoken', who.bearer) : basic(who.basic[0], who.basic[1]) };
  }

  async function api(who: Caller, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = authHeader(who);
    const form = body instanceof FormData;
    if (body !== undefined && !form) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : form ? body : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** A setup step that must succeed. */
  async function must(who: Caller, method: string, path: string, body?: unknown): Promise<any> {
    const res = await api(who, method, path, body);
    assert.ok(res.status >= 200 && res.status < 300, `setup ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** An OAuth token for a user, through the implicit flow of acme's application (the user consents with its password). */
  async function authorizedToken(user: string, password: string, scopes: readonly Scope[]): Promise<string> {
    const qs = new URLSearchParams({ response_type: 'token', client_id: clientId, redirect_uri: REDIRECT, scope: scopes.join(' ') });
    const res = await fetch(`${server.url}/oauth/authorize?${qs}`, { redirect: 'manual', headers: { authorization: basic(user, password) } });
    assert.equal(res.status, 302, `authorize ${user}`);
    const location = new URL(res.headers.get('location')!);
    const token = new URLSearchParams(location.hash.slice(1)).get('access_token');
    assert.ok(token, `authorize ${user}: ${location}`);
    return token;
  }

  /** A token minted for `owner` through an application it administers (POST …/applications/{client_id}/tokens). */
  async function mint(owner: Caller, org: string, appId: string, scopes: readonly Scope[]): Promise<string> {
    const body = await must(owner, 'POST', `/organization/${org}/applications/${appId}/tokens`, { name: `matrix ${scopes.join(' ')}`, scope: scopes.join(' ') });
    return body.token as string;
  }

  /** Creates a user as the superuser and returns a token holding every scope it may hold. */
  async function newUser(name: string): Promise<{ name: string; caller: Caller }> {
    const created = await must(root, 'POST', '/superuser/users/', { username: name, email: `${name}@example.com` });
    passwords[name] = created.password;
    return { name, caller: { bearer: await authorizedToken(name, created.password, USER_SCOPES) } };
  }

  // ---- fresh targets, so that mutating cells do not interfere --------------------------------

  async function freshRepo(visibility: 'private' | 'public'): Promise<string> {
    const name = fresh('repo');
    await must(alice, 'POST', '/repository', { namespace: 'acme', repository: name, visibility });
    if (visibility === 'private') {
      // The same roles as acme/private.
      for (const [who, role] of [['reader', 'read'], ['writer', 'write'], ['repoadmin', 'admin'], ['acme+bot', 'read']]) {
        await must(alice, 'PUT', `/repository/acme/${name}/permissions/user/${who}`, { role });
      }
    }
    return `acme/${name}`;
  }

  /** An organization shaped like acme: alice owns it, and the member, creator and orgadmin users are in teams of those roles. */
  async function freshOrg(): Promise<string> {
    const org = fresh('org');
    await must(alice, 'POST', '/organization/', { name: org, email: `${org}@example.com` });
    for (const [team, role, user] of [['members', 'member', 'member'], ['creators', 'creator', 'creator'], ['admins', 'admin', 'orgadmin']]) {
      await must(alice, 'PUT', `/organization/${org}/team/${team}`, { role });
      await must(alice, 'PUT', `/organization/${org}/team/${team}/members/${user}`, {});
    }
    return org;
  }

  async function freshTeam(members: string[] = []): Promise<string> {
    const team = fresh('team');
    await must(alice, 'PUT', `/organization/acme/team/${team}`, { role: 'member' });
    for (const m of members) await must(alice, 'PUT', `/organization/acme/team/${team}/members/${m}`, {});
    return team;
  }

  async function freshApp(): Promise<string> {
    return (await must(alice, 'POST', '/organization/acme/applications', { name: fresh('app'), redirect_uri: REDIRECT })).client_id;
  }

  /** The one image in acme/private (tagged `base`) that the tag and label rows work on, and a label on it. */
  let manifestDigest = '';
  let labelId = '';
  /** That image's manifest bytes and config blob. */
  let manifestBytes: Buffer = Buffer.alloc(0);
  let configDigest = '';
  /** A blob only acme/vault holds (a private repository only acme's admins read), for the mount row. */
  let vaultBlob = '';
  /** A build of acme/private, acme's quota and one of its limits, and an activated trigger of acme/private. */
  let buildUuid = '';
  let quotaId = 0;
  let limitId = 0;
  let triggerUuid = '';
  /** Warning limits must differ in percent: each new one takes the next. */
  let percent = 1;

  /** A registry token for `who` (null for nobody) holding what /v2/auth grants of the scopes. */
  async function registryToken(who: Caller, scopes: readonly string[]): Promise<string | null> {
    if (!who) return null;
    const qs = new URLSearchParams({ service: server.host });
    for (const scope of scopes) qs.append('scope', scope);
    const auth = await fetch(`${server.url}/v2/auth?${qs}`, { headers: registryLogin(who) });
    assert.equal(auth.status, 200, `a registry token: ${await auth.clone().text()}`);
    return ((await auth.json()) as { token: string }).token;
  }

  /** alice's bearer header for pushing to the repository. */
  async function alicePush(repo: string): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await registryToken(alice, [`repository:${repo}:pull,push`])}` };
  }

  /** A blob of its own pushed into the repository as alice; its digest. */
  async function pushBlob(repo: string): Promise<string> {
    const bytes = Buffer.from(fresh('blob-content-'));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const up = await fetch(`${server.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: await alicePush(repo), body: bytes });
    assert.equal(up.status, 201, `blob: ${await up.text()}`);
    return digest;
  }

  /** An upload session alice opened in the repository: its path. */
  async function openUpload(repo: string): Promise<string> {
    const res = await fetch(`${server.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: await alicePush(repo) });
    assert.equal(res.status, 202, `upload: ${await res.text()}`);
    return new URL(res.headers.get('location')!, server.url).pathname;
  }

  /**
   * Pushes a one-blob image through /v2 as alice; `unique` makes its config (so its digest) its own.
   * Returns the manifest's digest and bytes and the config's digest.
   */
  async function pushImage(repo: string, tag: string, unique = ''): Promise<{ digest: string; manifest: Buffer; configDigest: string }> {
    const headers = await alicePush(repo);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...(unique ? { config: { Labels: { unique } } } : {}) }));
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const up = await fetch(`${server.url}/v2/${repo}/blobs/uploads/?digest=${configDigest}`, { method: 'POST', headers, body: config });
    assert.equal(up.status, 201, `config blob: ${await up.text()}`);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [],
    }));
    const put = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT', headers: { ...headers, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest,
    });
    assert.equal(put.status, 201, `manifest: ${await put.text()}`);
    return { digest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`, manifest, configDigest };
  }

  /** A build of acme/private alice starts (it waits at the silent Podman socket); its uuid. */
  async function startBuild(): Promise<string> {
    return (await must(alice, 'POST', '/repository/acme/private/build/', buildForm())).id;
  }

  /** A custom-git trigger alice creates on acme/private, activated too when asked; its uuid. */
  async function freshTrigger(activated = false): Promise<string> {
    const t = await must(alice, 'POST', '/repository/acme/private/trigger/', { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE } });
    if (activated) await must(alice, 'POST', `/repository/acme/private/trigger/${t.id}/activate`, {});
    return t.id;
  }

  /** A new tag on the image in acme/private, made by alice; `deleted`: then deleted, so it lives only in history. */
  async function freshTag(deleted = false): Promise<string> {
    const tag = fresh('tag');
    await must(alice, 'PUT', `/repository/acme/private/tag/${tag}`, { manifest_digest: manifestDigest });
    if (deleted) await must(alice, 'DELETE', `/repository/acme/private/tag/${tag}`);
    return tag;
  }

  /** The token columns' token for a row: exactly its scope (token+), or every other scope but those implying it (token-). */
  function tokenFor(row: Row, col: 'token+' | 'token-'): Caller {
    const key = tokenKey(row, col);
    const token = tokens.get(key);
    assert.ok(token, `no token ${key}`);
    return { bearer: token };
  }

  function tokenScopes(row: Row, col: 'token+' | 'token-'): Scope[] {
    // With no scope needed, any token serves: one with user:read, one with repo:read.
    if (!row.scope) return col === 'token+' ? ['user:read'] : ['repo:read'];
    if (col === 'token+') return [row.scope];
    const excluded = new Set<Scope>([row.scope, ...(IMPLIED_BY[row.scope] ?? [])]);
    return (row.tokenOwner === 'root' ? ALL_SCOPES : USER_SCOPES).filter((s) => !excluded.has(s));
  }

  const tokenKey = (row: Row, col: 'token+' | 'token-') => `${row.tokenOwner} ${tokenScopes(row, col).join(' ')}`;

  function tokenLabel(row: Row, col: 'token+' | 'token-'): string {
    const owner = row.tokenOwner;
    if (!row.scope) return `${owner}'s token(${tokenScopes(row, col).join(' ')})`;
    return col === 'token+' ? `${owner}'s token(${row.scope})` : `${owner}'s token(without ${row.scope})`;
  }

  function cellFor(row: Row, col: Column): Cell {
    if (col === 'token+' || col === 'token-') {
      return { row, col, caller: tokenFor(row, col), owner: row.tokenOwner === 'root' ? root : alice };
    }
    return { row, col, caller: callers[col], owner: col === 'robot' ? null : callers[col] };
  }

  /**
   * A new principal in the same position as the column's, for a cell whose target is the caller
   * itself (DELETE /user/): it takes the place of the column's own principal.
   */
  async function twin(col: Column, row: Row): Promise<Caller> {
    switch (col) {
      case 'anonymous': return null;
      case 'robot': return robot;
      case 'outsider': return (await newUser(fresh('outsider'))).caller;
      case 'reader':
      case 'writer':
      case 'repoadmin': {
        const u = await newUser(fresh(col));
        await must(alice, 'PUT', `/repository/acme/private/permissions/user/${u.name}`, { role: { reader: 'read', writer: 'write', repoadmin: 'admin' }[col] });
        return u.caller;
      }
      case 'member':
      case 'creator':
      case 'orgadmin': {
        const u = await newUser(fresh(col));
        await must(alice, 'PUT', `/organization/acme/team/${{ member: 'members', creator: 'creators', orgadmin: 'admins' }[col]}/members/${u.name}`, {});
        return u.caller;
      }
      case 'token+':
      case 'token-': {
        // Another owner of acme, like alice, minting the row's token for itself.
        const u = await newUser(fresh('owner'));
        await must(alice, 'PUT', `/organization/acme/team/owners/members/${u.name}`, {});
        return { bearer: await mint(u.caller, 'acme', clientId, tokenScopes(row, col)) };
      }
      case 'superuser': {
        const name = fresh('root');
        const password = `${name}-password`;
        await server.cli('admin', 'create-user', name, '--email', `${name}@example.com`, '--password', password, '--superuser');
        return { bearer: await authorizedToken(name, password, ALL_SCOPES) };
      }
    }
  }

  // ---- the table ----------------------------------------------------------------------------

  const ok2xx = (status: number) => (status >= 200 && status < 300 ? 'ok' : String(status));

  /**
   * An /api/v1 row. `op` is the method and the path template as the discovery document writes it
   * (after /api/v1); `target` the concrete request, or a function making a fresh one per cell.
   */
  function apiRow(
    op: string, scope: Scope | null, line: string,
    target: string | ((c: Cell) => Promise<Target> | Target),
    opts: { show?: string; body?: unknown; tokenOwner?: 'alice' | 'root'; observe?: (res: { status: number; body: any }) => string } = {},
  ): Row {
    const [method, template] = op.trim().split(/\s+/) as [string, string];
    const show = opts.show ?? `${method} ${typeof target === 'string' ? target : template}`;
    return {
      op: `${method} /api/v1${template}`,
      show,
      scope,
      tokenOwner: opts.tokenOwner ?? 'alice',
      expect: expectations(line, show),
      async run(cell) {
        const t: Target = typeof target === 'string' ? { path: target, body: opts.body } : await target(cell);
        const res = await api(t.caller !== undefined ? t.caller : cell.caller, method, t.path, t.body);
        const outcome = opts.observe && res.status === 200 ? opts.observe(res) : ok2xx(res.status);
        return { outcome, detail: `${method} ${t.path} answered ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}` };
      },
    };
  }

  /** What /v2/auth grants the column for `repository:NAME:ACTIONS`. */
  function grantRow(repo: string, actions: string, scope: Scope, line: string): Row {
    const show = `GET /v2/auth scope=repository:${repo}:${actions}`;
    return {
      op: `registry token ${actions}`,
      show,
      scope,
      tokenOwner: 'alice',
      expect: expectations(line, show),
      async run(cell) {
        const qs = new URLSearchParams({ service: server.host, scope: `repository:${repo}:${actions}` });
        const res = await fetch(`${server.url}/v2/auth?${qs}`, { headers: registryLogin(cell.caller) });
        if (res.status !== 200) return { outcome: String(res.status), detail: await res.text() };
        const { token } = (await res.json()) as { token: string };
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access: { actions: string[] }[] };
        const granted = claims.access[0]?.actions ?? [];
        return { outcome: granted.length ? granted.join(',') : '-', detail: JSON.stringify(claims.access) };
      },
    };
  }

  interface V2Request {
    method: string;
    path: string;
    /** The scopes the client asks /v2/auth for first (none for anonymous, which sends no token). */
    grants: string[];
    headers?: Record<string, string>;
    body?: Buffer;
  }

  /**
   * A real /v2 request, with the bearer token a client would fetch for it first. `observe` turns
   * the answer into the outcome (default: `ok` for 2xx, else the status).
   */
  function v2Row(
    op: string, scope: Scope | null, line: string,
    request: V2Request | ((c: Cell) => Promise<V2Request> | V2Request),
    opts: { show?: string; observe?: (status: number, text: string) => string } = {},
  ): Row {
    const show = opts.show ?? (typeof request === 'function' ? op.replace(/^registry /, '') : `${request.method} ${request.path}`);
    return {
      op,
      show,
      scope,
      tokenOwner: 'alice',
      expect: expectations(line, show),
      async run(cell) {
        const r = typeof request === 'function' ? await request(cell) : request;
        const headers: Record<string, string> = { ...r.headers };
        const token = await registryToken(cell.caller, r.grants);
        if (token) headers.authorization = `Bearer ${token}`;
        const res = await fetch(`${server.url}${r.path}`, { method: r.method, headers, body: r.body ? new Uint8Array(r.body) : undefined });
        const text = await res.text();
        const outcome = opts.observe ? opts.observe(res.status, text) : ok2xx(res.status);
        return { outcome, detail: `${r.method} ${r.path} answered ${res.status} ${text.slice(0, 300)}` };
      },
    };
  }

  /** A real /v2 request on a repository's route, asking for a token with `actions` on it. */
  function registryRow(method: string, repo: string, suffix: string, actions: string, scope: Scope, line: string): Row {
    return v2Row(`registry ${method} /v2/{name}/${suffix}`, scope, line, { method, path: `/v2/${repo}/${suffix}`, grants: [`repository:${repo}:${actions}`] });
  }

  /** Whether GET /v2/_catalog lists the repository: `yes` or `no` (or the status of a refusal). */
  const catalogLists = (repo: string) => (status: number, text: string) =>
    status !== 200 ? String(status) : (JSON.parse(text) as { repositories: string[] }).repositories.includes(repo) ? 'yes' : 'no';

  /** A cross-repository mount: `mount` (201, linked from the source), `upload` (202, a plain upload instead), or the status. */
  const mountOutcome = (status: number) => (status === 201 ? 'mount' : status === 202 ? 'upload' : String(status));

  /** The build log WebSocket: `ok` once the socket opens, else the status the upgrade was refused with. */
  function streamRow(line: string): Row {
    const show = 'GET (WebSocket) /repository/acme/private/build/<build>/logs/stream';
    return {
      op: 'GET /api/v1/repository/{repository}/build/{uuid}/logs/stream',
      show,
      scope: 'repo:read',
      tokenOwner: 'alice',
      expect: expectations(line, show),
      async run(cell) {
        const url = `${server.url.replace(/^http/, 'ws')}/api/v1/repository/acme/private/build/${buildUuid}/logs/stream`;
        const ws = new WebSocket(url, { headers: authHeader(cell.caller) });
        const outcome = await new Promise<string>((resolve) => {
          ws.once('open', () => resolve('ok'));
          ws.once('unexpected-response', (_req, res) => {
            resolve(String(res.statusCode));
            res.resume();
          });
          ws.once('error', (err) => resolve(`error ${err.message}`));
        });
        ws.terminate();
        return { outcome, detail: `${url} → ${outcome}` };
      },
    };
  }

  // Robots of the caller's own namespace, made by the caller itself (nothing to make for nobody or a robot).
  const ownRobot = async (c: Cell) => {
    const name = fresh('bot');
    if (c.owner) await must(c.owner, 'PUT', `/user/robots/${name}`, {});
    return name;
  };
  const exportBody = () => ({ callback_url: callbackUrl });
  /** An organization of alice's with no teams, for the quota rows that need one afresh. */
  const bareOrg = async () => {
    const org = fresh('quotaorg');
    await must(alice, 'POST', '/organization/', { name: org, email: `${org}@example.com` });
    return org;
  };
  /** A new Warning limit on acme's quota, made by root; its id. */
  const freshLimit = async () => {
    const at = percent++;
    await must(root, 'POST', `/organization/acme/quota/${quotaId}/limit`, { type: 'Warning', threshold_percent: at });
    const limits = (await must(root, 'GET', `/organization/acme/quota/${quotaId}/limit`)) as { id: number; limit_percent: number }[];
    return limits.find((l) => l.limit_percent === at)!.id;
  };
  const OCI = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  const PUT_OCI = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
  const pull = (repo: string) => [`repository:${repo}:pull`];
  const push = (repo: string) => [`repository:${repo}:pull,push`];
  let victim: string | null = null;

  const ROWS: Row[] = [
    //                                                                            anon out rdr wtr radm mem cre oadm robot tok+ tok- su
    // Anybody, any credentials — but a robot's are refused on /api/v1.
    apiRow('GET /discovery', null,                                                 'ok   ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', '/discovery'),
    apiRow('POST /user/', null,                                                    'ok   ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', () => {
      const name = fresh('signup');
      return { path: '/user/', body: { username: name, password: `${name}-password`, email: `${name}@example.com` } };
    }),
    // A web session: anybody signs in with a password in the body (here bystander's), or out.
    apiRow('POST /signin', null,                                                   'ok   ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok',
      () => ({ path: '/signin', body: { username: 'bystander', password: passwords.bystander } }), { show: 'POST /signin {bystander\'s password}' }),
    apiRow('POST /signout', null,                                                  'ok   ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', '/signout'),

    // The caller's own account (user:read / user:admin).
    apiRow('GET /user/', 'user:read',                                              '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/'),
    apiRow('PUT /user/', 'user:admin',                                             '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', () => ({ path: '/user/', body: { email: `${fresh('mail')}@example.com` } })),
    apiRow('POST /organization/', 'user:admin',                                    '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', () => {
      const name = fresh('neworg');
      return { path: '/organization/', body: { name, email: `${name}@example.com` } };
    }),
    apiRow('GET /user/robots', 'user:admin',                                       '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/robots'),
    apiRow('GET /user/robots/{robot_shortname}', 'user:admin',                     '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/robots/mine'),
    apiRow('PUT /user/robots/{robot_shortname}', 'user:admin',                     '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok',
      () => ({ path: `/user/robots/${fresh('bot')}`, body: { description: 'matrix' } }), { show: 'PUT /user/robots/<new>' }),
    apiRow('DELETE /user/robots/{robot_shortname}', 'user:admin',                  '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok',
      async (c) => ({ path: `/user/robots/${await ownRobot(c)}` }), { show: 'DELETE /user/robots/<own fresh robot>' }),
    apiRow('POST /user/robots/{robot_shortname}/regenerate', 'user:admin',         '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok',
      async (c) => ({ path: `/user/robots/${await ownRobot(c)}/regenerate` }), { show: 'POST /user/robots/<own fresh robot>/regenerate' }),
    apiRow('GET /user/robots/{robot_shortname}/permissions', 'user:admin',         '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/robots/mine/permissions'),
    apiRow('GET /user/logs', 'user:admin',                                         '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/logs'),
    apiRow('GET /user/aggregatelogs', 'user:admin',                                '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/aggregatelogs'),
    apiRow('POST /user/exportlogs', 'user:admin',                                  '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', () => ({ path: '/user/exportlogs', body: exportBody() })),

    // Superusers only (super:user); the token columns are root's.
    apiRow('GET /superuser/users/', 'super:user',                                  '401 403 403 403 403 403 403 403  401   ok  403   ok', '/superuser/users/', { tokenOwner: 'root' }),
    apiRow('POST /superuser/users/', 'super:user',                                 '401 403 403 403 403 403 403 403  401   ok  403   ok', () => {
      const name = fresh('made');
      return { path: '/superuser/users/', body: { username: name, email: `${name}@example.com` } };
    }, { tokenOwner: 'root' }),
    apiRow('DELETE /superuser/users/{username}', 'super:user',                     '401 403 403 403 403 403 403 403  401   ok  403   ok', async () => {
      // A user made for the purpose, made afresh once a cell has deleted it (making one costs a password hash).
      const users = (await must(root, 'GET', '/superuser/users/')).users as { username: string }[];
      if (!victim || !users.some((u) => u.username === victim)) {
        victim = fresh('victim');
        await must(root, 'POST', '/superuser/users/', { username: victim, email: `${victim}@example.com` });
      }
      return { path: `/superuser/users/${victim}` };
    }, { tokenOwner: 'root', show: 'DELETE /superuser/users/<a user of no consequence>' }),
    apiRow('GET /superuser/logs', 'super:user',                                    '401 403 403 403 403 403 403 403  401   ok  403   ok', '/superuser/logs', { tokenOwner: 'root' }),
    apiRow('GET /superuser/aggregatelogs', 'super:user',                           '401 403 403 403 403 403 403 403  401   ok  403   ok', '/superuser/aggregatelogs', { tokenOwner: 'root' }),

    // The organization: members see it; its admins (org:admin) change it; everyone else is told it does not exist.
    apiRow('GET /organization/{orgname}', null,                                    '401 404 404 404 404  ok  ok  ok  401   ok   ok  404', '/organization/acme'),
    apiRow('PUT /organization/{orgname}', 'org:admin',                             '401 404 404 404 404 403 403  ok  401   ok  403  404',
      () => ({ path: '/organization/acme', body: { email: `${fresh('acme')}@example.com` } }), { show: 'PUT /organization/acme' }),
    apiRow('DELETE /organization/{orgname}', 'org:admin',                          '401 404 404 404 404 403 403  ok  401   ok  403  404',
      async () => ({ path: `/organization/${await freshOrg()}` }), { show: 'DELETE /organization/<fresh org shaped like acme>' }),

    // Teams.
    apiRow('PUT /organization/{orgname}/team/{teamname}', 'org:admin',             '401 404 404 404 404 403 403  ok  401   ok  403  404',
      () => ({ path: `/organization/acme/team/${fresh('team')}`, body: { role: 'member' } }), { show: 'PUT /organization/acme/team/<new>' }),
    apiRow('DELETE /organization/{orgname}/team/{teamname}', 'org:admin',          '401 404 404 404 404 403 403  ok  401   ok  403  404',
      async () => ({ path: `/organization/acme/team/${await freshTeam()}` }), { show: 'DELETE /organization/acme/team/<fresh team>' }),
    // A team's members: the org's admins and the team's own members; other members 403.
    apiRow('GET /organization/{orgname}/team/{teamname}/members', 'org:admin',     '401 404 404 404 404  ok 403  ok  401   ok  403  404', '/organization/acme/team/members/members'),
    apiRow('PUT /organization/{orgname}/team/{teamname}/members/{membername}', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404',
      async () => ({ path: `/organization/acme/team/${await freshTeam()}/members/bystander`, body: {} }), { show: 'PUT /organization/acme/team/<fresh team>/members/bystander' }),
    apiRow('DELETE /organization/{orgname}/team/{teamname}/members/{membername}', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404',
      async () => ({ path: `/organization/acme/team/${await freshTeam(['bystander'])}/members/bystander` }), { show: 'DELETE /organization/acme/team/<fresh team>/members/bystander' }),

    // The organization's robots: members see them (a token needs org:admin, as documented), admins manage them.
    apiRow('GET /organization/{orgname}/robots', 'org:admin',                      '401 404 404 404 404  ok  ok  ok  401   ok  403  404', '/organization/acme/robots'),
    apiRow('GET /organization/{orgname}/robots', 'org:admin',                      '401 404 404 404 404  no  no yes  401  yes  403  404', '/organization/acme/robots?token=true', {
      show: 'GET /organization/acme/robots?token=true (tokens shown: yes/no)',
      observe: (res) => (res.body.robots.some((r: { token?: string }) => r.token) ? 'yes' : 'no'),
    }),
    apiRow('GET /organization/{orgname}/robots/{robot_shortname}', 'org:admin',    '401 404 404 404 404  ok  ok  ok  401   ok  403  404', '/organization/acme/robots/bot'),
    apiRow('PUT /organization/{orgname}/robots/{robot_shortname}', 'org:admin',    '401 404 404 404 404 403 403  ok  401   ok  403  404',
      () => ({ path: `/organization/acme/robots/${fresh('bot')}`, body: {} }), { show: 'PUT /organization/acme/robots/<new>' }),
    apiRow('DELETE /organization/{orgname}/robots/{robot_shortname}', 'org:admin', '401 404 404 404 404 403 403  ok  401   ok  403  404', async () => {
      const name = fresh('bot');
      await must(alice, 'PUT', `/organization/acme/robots/${name}`, {});
      return { path: `/organization/acme/robots/${name}` };
    }, { show: 'DELETE /organization/acme/robots/<fresh robot>' }),
    apiRow('POST /organization/{orgname}/robots/{robot_shortname}/regenerate', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404', async () => {
      const name = fresh('bot');
      await must(alice, 'PUT', `/organization/acme/robots/${name}`, {});
      return { path: `/organization/acme/robots/${name}/regenerate` };
    }, { show: 'POST /organization/acme/robots/<fresh robot>/regenerate' }),
    apiRow('GET /organization/{orgname}/robots/{robot_shortname}/permissions', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404', '/organization/acme/robots/bot/permissions'),

    // Default permissions: admins only.
    apiRow('GET /organization/{orgname}/prototypes', 'org:admin',                  '401 404 404 404 404 403 403  ok  401   ok  403  404', '/organization/acme/prototypes'),
    apiRow('POST /organization/{orgname}/prototypes', 'org:admin',                 '401 404 404 404 404 403 403  ok  401   ok  403  404',
      async () => ({ path: '/organization/acme/prototypes', body: { role: 'read', delegate: { name: await freshTeam(), kind: 'team' } } }),
      { show: 'POST /organization/acme/prototypes (a fresh team as delegate)' }),
    apiRow('PUT /organization/{orgname}/prototypes/{prototypeid}', 'org:admin',    '401 404 404 404 404 403 403  ok  401   ok  403  404', async () => {
      const proto = await must(alice, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: await freshTeam(), kind: 'team' } });
      return { path: `/organization/acme/prototypes/${proto.id}`, body: { role: 'write' } };
    }, { show: 'PUT /organization/acme/prototypes/<fresh>' }),
    apiRow('DELETE /organization/{orgname}/prototypes/{prototypeid}', 'org:admin', '401 404 404 404 404 403 403  ok  401   ok  403  404', async () => {
      const proto = await must(alice, 'POST', '/organization/acme/prototypes', { role: 'read', delegate: { name: await freshTeam(), kind: 'team' } });
      return { path: `/organization/acme/prototypes/${proto.id}` };
    }, { show: 'DELETE /organization/acme/prototypes/<fresh>' }),

    // OAuth applications: the organization's admins and superusers (Quay's allow_if_superuser).
    apiRow('GET /organization/{orgname}/applications', 'org:admin',                '401 404 404 404 404 403 403  ok  401   ok  403   ok', '/organization/acme/applications'),
    apiRow('POST /organization/{orgname}/applications', 'org:admin',               '401 404 404 404 404 403 403  ok  401   ok  403   ok',
      () => ({ path: '/organization/acme/applications', body: { name: fresh('app') } }), { show: 'POST /organization/acme/applications' }),
    apiRow('GET /organization/{orgname}/applications/{client_id}', 'org:admin',    '401 404 404 404 404 403 403  ok  401   ok  403   ok',
      () => ({ path: `/organization/acme/applications/${clientId}` }), { show: 'GET /organization/acme/applications/<client_id>' }),
    apiRow('PUT /organization/{orgname}/applications/{client_id}', 'org:admin',    '401 404 404 404 404 403 403  ok  401   ok  403   ok',
      async () => ({ path: `/organization/acme/applications/${await freshApp()}`, body: { name: fresh('renamed'), redirect_uri: REDIRECT, application_uri: '' } }),
      { show: 'PUT /organization/acme/applications/<fresh app>' }),
    apiRow('DELETE /organization/{orgname}/applications/{client_id}', 'org:admin', '401 404 404 404 404 403 403  ok  401   ok  403   ok',
      async () => ({ path: `/organization/acme/applications/${await freshApp()}` }), { show: 'DELETE /organization/acme/applications/<fresh app>' }),
    apiRow('POST /organization/{orgname}/applications/{client_id}/resetclientsecret', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 ok',
      async () => ({ path: `/organization/acme/applications/${await freshApp()}/resetclientsecret` }), { show: 'POST /organization/acme/applications/<fresh app>/resetclientsecret' }),
    // Application tokens: the organization's admins only (Quay lets superusers only with FULL_ACCESS).
    apiRow('GET /organization/{orgname}/applications/{client_id}/tokens', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404',
      () => ({ path: `/organization/acme/applications/${clientId}/tokens` }), { show: 'GET /organization/acme/applications/<client_id>/tokens' }),
    // Minting: never a scope the caller does not hold, nor one its own token lacks.
    apiRow('POST /organization/{orgname}/applications/{client_id}/tokens', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404',
      () => ({ path: `/organization/acme/applications/${clientId}/tokens`, body: { name: 'm', scope: 'org:admin' } }),
      { show: 'POST /organization/acme/applications/<client_id>/tokens {scope: org:admin}' }),
    apiRow('POST /organization/{orgname}/applications/{client_id}/tokens', 'org:admin', '401 404 404 404 404 403 403 ok 401 403 403 404',
      () => ({ path: `/organization/acme/applications/${clientId}/tokens`, body: { name: 'm', scope: 'repo:read' } }),
      { show: 'POST /organization/acme/applications/<client_id>/tokens {scope: repo:read}' }),
    apiRow('POST /organization/{orgname}/applications/{client_id}/tokens', 'org:admin', '401 404 404 404 404 403 403 403 401 403 403 404',
      () => ({ path: `/organization/acme/applications/${clientId}/tokens`, body: { name: 'm', scope: 'super:user' } }),
      { show: 'POST /organization/acme/applications/<client_id>/tokens {scope: super:user}' }),
    apiRow('DELETE /organization/{orgname}/applications/{client_id}/tokens/{token_uuid}', 'org:admin', '401 404 404 404 404 403 403 ok 401 ok 403 404', async () => {
      const minted = await must(alice, 'POST', `/organization/acme/applications/${clientId}/tokens`, { name: 'doomed', scope: 'repo:read' });
      return { path: `/organization/acme/applications/${clientId}/tokens/${minted.uuid}` };
    }, { show: 'DELETE /organization/acme/applications/<client_id>/tokens/<fresh token>' }),

    // The organization's usage logs: its admins and superusers.
    apiRow('GET /organization/{orgname}/logs', 'org:admin',                        '401 404 404 404 404 403 403  ok  401   ok  403   ok', '/organization/acme/logs'),
    apiRow('GET /organization/{orgname}/aggregatelogs', 'org:admin',               '401 404 404 404 404 403 403  ok  401   ok  403   ok', '/organization/acme/aggregatelogs'),
    apiRow('POST /organization/{orgname}/exportlogs', 'org:admin',                 '401 404 404 404 404 403 403  ok  401   ok  403   ok',
      () => ({ path: '/organization/acme/exportlogs', body: exportBody() }), { show: 'POST /organization/acme/exportlogs' }),

    // Repositories. Listing answers everyone, showing only what each may read.
    apiRow('GET /repository', 'repo:read',                                         ' ok  ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', '/repository?namespace=acme'),
    apiRow('GET /repository', 'repo:read',                                         ' no  no yes yes yes  no  no yes  401  yes   no   no', '/repository?namespace=acme', {
      show: 'GET /repository?namespace=acme (acme/private listed: yes/no)',
      observe: (res) => (res.body.repositories.some((r: { name: string }) => r.name === 'private') ? 'yes' : 'no'),
    }),
    apiRow('POST /repository', 'repo:create',                                      '401 404 404 404 404 403  ok  ok  401   ok  403  404',
      () => ({ path: '/repository', body: { namespace: 'acme', repository: fresh('made'), visibility: 'private' } }), { show: 'POST /repository {namespace: acme}' }),

    // A private repository: hidden (404) from whoever may not read it, 403 to readers short of the role.
    apiRow('GET /repository/{repository}', 'repo:read',                            '401 404  ok  ok  ok 404 404  ok  401   ok  404  404', '/repository/acme/private'),
    apiRow('PUT /repository/{repository}', 'repo:write',                          '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private', body: { description: fresh('described') } }), { show: 'PUT /repository/acme/private' }),
    apiRow('DELETE /repository/{repository}', 'repo:admin',                        '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/${await freshRepo('private')}` }), { show: 'DELETE /repository/<fresh private repo shaped like acme/private>' }),
    apiRow('POST /repository/{repository}/changevisibility', 'repo:admin',         '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/${await freshRepo('private')}/changevisibility`, body: { visibility: 'public' } }),
      { show: 'POST /repository/<fresh private repo>/changevisibility {public}' }),
    apiRow('PUT /repository/{repository}/changestate', 'repo:admin',               '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private/changestate', body: { state: 'NORMAL' } }), { show: 'PUT /repository/acme/private/changestate {NORMAL}' }),
    apiRow('GET /repository/{repository}/permissions/user', 'repo:admin',          '401 404 403 403  ok 404 404  ok  401   ok  403  404', '/repository/acme/private/permissions/user/'),
    apiRow('GET /repository/{repository}/permissions/user/{username}', 'repo:admin', '401 404 403 403 ok 404 404  ok  401   ok  403  404', '/repository/acme/private/permissions/user/reader'),
    apiRow('PUT /repository/{repository}/permissions/user/{username}', 'repo:admin', '401 404 403 403 ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private/permissions/user/bystander', body: { role: 'read' } }), { show: 'PUT /repository/acme/private/permissions/user/bystander' }),
    apiRow('DELETE /repository/{repository}/permissions/user/{username}', 'repo:admin', '401 404 403 403 ok 404 404 ok  401   ok  403  404', async () => {
      await must(alice, 'PUT', '/repository/acme/private/permissions/user/bystander', { role: 'read' });
      return { path: '/repository/acme/private/permissions/user/bystander' };
    }, { show: 'DELETE /repository/acme/private/permissions/user/bystander (granted afresh)' }),
    apiRow('GET /repository/{repository}/permissions/team', 'repo:admin',          '401 404 403 403  ok 404 404  ok  401   ok  403  404', '/repository/acme/private/permissions/team/'),
    apiRow('GET /repository/{repository}/permissions/team/{teamname}', 'repo:admin', '401 404 403 403 ok 404 404  ok  401   ok  403  404', '/repository/acme/private/permissions/team/bystanders'),
    apiRow('PUT /repository/{repository}/permissions/team/{teamname}', 'repo:admin', '401 404 403 403 ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private/permissions/team/bystanders', body: { role: 'read' } }), { show: 'PUT /repository/acme/private/permissions/team/bystanders' }),
    apiRow('DELETE /repository/{repository}/permissions/team/{teamname}', 'repo:admin', '401 404 403 403 ok 404 404 ok  401   ok  403  404', async () => {
      await must(alice, 'PUT', '/repository/acme/private/permissions/team/bystanders', { role: 'read' });
      return { path: '/repository/acme/private/permissions/team/bystanders' };
    }, { show: 'DELETE /repository/acme/private/permissions/team/bystanders (granted afresh)' }),
    // A repository's usage logs: its admins and superusers.
    apiRow('GET /repository/{repository}/logs', 'repo:admin',                      '401 404 403 403  ok 404 404  ok  401   ok  403   ok', '/repository/acme/private/logs'),
    apiRow('GET /repository/{repository}/aggregatelogs', 'repo:admin',             '401 404 403 403  ok 404 404  ok  401   ok  403   ok', '/repository/acme/private/aggregatelogs'),
    apiRow('POST /repository/{repository}/exportlogs', 'repo:admin',               '401 404 403 403  ok 404 404  ok  401   ok  403   ok',
      () => ({ path: '/repository/acme/private/exportlogs', body: exportBody() }), { show: 'POST /repository/acme/private/exportlogs' }),
    // Tags and the time machine: reading needs read, every change write.
    apiRow('GET /repository/{repository}/tag', 'repo:read',                        '401 404  ok  ok  ok 404 404  ok  401   ok  404  404', '/repository/acme/private/tag/'),
    apiRow('PUT /repository/{repository}/tag/{tag}', 'repo:write',                 '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/tag/${fresh('made')}`, body: { manifest_digest: manifestDigest } }), { show: 'PUT /repository/acme/private/tag/<fresh tag>' }),
    apiRow('DELETE /repository/{repository}/tag/{tag}', 'repo:write',              '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/tag/${await freshTag()}` }), { show: 'DELETE /repository/acme/private/tag/<fresh tag>' }),
    apiRow('POST /repository/{repository}/tag/{tag}/restore', 'repo:write',        '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/tag/${await freshTag(true)}/restore`, body: { manifest_digest: manifestDigest } }),
      { show: 'POST /repository/acme/private/tag/<fresh deleted tag>/restore' }),
    apiRow('POST /repository/{repository}/tag/{tag}/expire', 'repo:write',         '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/tag/${await freshTag(true)}/expire`, body: { manifest_digest: manifestDigest } }),
      { show: 'POST /repository/acme/private/tag/<fresh deleted tag>/expire (PERMANENTLY_DELETE_TAGS on)' }),
    // Manifest labels: the same roles.
    apiRow('GET /repository/{repository}/manifest/{digest}/labels', 'repo:read',   '401 404  ok  ok  ok 404 404  ok  401   ok  404  404',
      () => ({ path: `/repository/acme/private/manifest/${manifestDigest}/labels` }), { show: 'GET /repository/acme/private/manifest/<digest>/labels' }),
    apiRow('GET /repository/{repository}/manifest/{digest}/labels/{labelid}', 'repo:read', '401 404 ok ok ok 404 404 ok 401 ok 404 404',
      () => ({ path: `/repository/acme/private/manifest/${manifestDigest}/labels/${labelId}` }), { show: 'GET /repository/acme/private/manifest/<digest>/labels/<id>' }),
    apiRow('POST /repository/{repository}/manifest/{digest}/labels', 'repo:write', '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/manifest/${manifestDigest}/labels`, body: { key: fresh('key'), value: 'v', media_type: 'text/plain' } }),
      { show: 'POST /repository/acme/private/manifest/<digest>/labels' }),
    apiRow('DELETE /repository/{repository}/manifest/{digest}/labels/{labelid}', 'repo:write', '401 404 403 ok ok 404 404 ok 401 ok 403 404', async () => {
      const label = await must(alice, 'POST', `/repository/acme/private/manifest/${manifestDigest}/labels`, { key: fresh('gone'), value: 'v', media_type: 'text/plain' });
      return { path: `/repository/acme/private/manifest/${manifestDigest}/labels/${label.label.id}` };
    }, { show: 'DELETE /repository/acme/private/manifest/<digest>/labels/<fresh label>' }),

    // A public repository: everyone reads it, so refusals are 403, never 404.
    apiRow('GET /repository/{repository}', 'repo:read',                            ' ok  ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', '/repository/acme/public'),
    apiRow('PUT /repository/{repository}', 'repo:write',                          '401 403 403 403 403 403 403  ok  401   ok  403  403',
      () => ({ path: '/repository/acme/public', body: { description: fresh('described') } }), { show: 'PUT /repository/acme/public' }),
    apiRow('DELETE /repository/{repository}', 'repo:admin',                        '401 403 403 403 403 403 403  ok  401   ok  403  403',
      async () => ({ path: `/repository/${await freshRepo('public')}` }), { show: 'DELETE /repository/<fresh public repo>' }),
    apiRow('GET /repository/{repository}/permissions/user', 'repo:admin',          '401 403 403 403 403 403 403  ok  401   ok  403  403', '/repository/acme/public/permissions/user/'),
    apiRow('GET /repository/{repository}/logs', 'repo:admin',                      '401 403 403 403 403 403 403  ok  401   ok  403   ok', '/repository/acme/public/logs'),

    // Quotas (Quay's namespacequota.py): the organization's members and superusers read them with no
    // particular scope, as Quay states none; only superusers (super:user) change them.
    apiRow('GET /organization/{orgname}/quota', null,                              '401 404 404 404 404  ok  ok  ok  401   ok   ok   ok', '/organization/acme/quota'),
    apiRow('GET /organization/{orgname}/quota/{quota_id}', null,                   '401 404 404 404 404  ok  ok  ok  401   ok   ok   ok',
      () => ({ path: `/organization/acme/quota/${quotaId}` }), { show: 'GET /organization/acme/quota/<id>' }),
    apiRow('GET /organization/{orgname}/quota/{quota_id}/limit', null,             '401 404 404 404 404  ok  ok  ok  401   ok   ok   ok',
      () => ({ path: `/organization/acme/quota/${quotaId}/limit` }), { show: 'GET /organization/acme/quota/<id>/limit' }),
    apiRow('GET /organization/{orgname}/quota/{quota_id}/limit/{limit_id}', null,  '401 404 404 404 404  ok  ok  ok  401   ok   ok   ok',
      () => ({ path: `/organization/acme/quota/${quotaId}/limit/${limitId}` }), { show: 'GET /organization/acme/quota/<id>/limit/<id>' }),
    apiRow('GET /organization/{orgname}/quota/events', null,                       '401 404 404 404 404  ok  ok  ok  401   ok   ok   ok', '/organization/acme/quota/events'),
    apiRow('POST /organization/{orgname}/quota', 'super:user',                     '401 403 403 403 403 403 403 403  401   ok  403   ok',
      async () => ({ path: `/organization/${await bareOrg()}/quota`, body: { limit_bytes: 1_000_000_000 } }), { tokenOwner: 'root', show: 'POST /organization/<fresh org>/quota' }),
    apiRow('PUT /organization/{orgname}/quota/{quota_id}', 'super:user',           '401 403 403 403 403 403 403 403  401   ok  403   ok',
      () => ({ path: `/organization/acme/quota/${quotaId}`, body: { limit_bytes: 1_000_000_000 } }), { tokenOwner: 'root', show: 'PUT /organization/acme/quota/<id>' }),
    apiRow('DELETE /organization/{orgname}/quota/{quota_id}', 'super:user',        '401 403 403 403 403 403 403 403  401   ok  403   ok', async () => {
      const org = await bareOrg();
      await must(root, 'POST', `/organization/${org}/quota`, { limit_bytes: 1_000_000_000 });
      return { path: `/organization/${org}/quota/${(await must(root, 'GET', `/organization/${org}/quota`))[0].id}` };
    }, { tokenOwner: 'root', show: 'DELETE /organization/<fresh org>/quota/<its quota>' }),
    apiRow('POST /organization/{orgname}/quota/{quota_id}/limit', 'super:user',    '401 403 403 403 403 403 403 403  401   ok  403   ok',
      () => ({ path: `/organization/acme/quota/${quotaId}/limit`, body: { type: 'Warning', threshold_percent: percent++ } }), { tokenOwner: 'root', show: 'POST /organization/acme/quota/<id>/limit' }),
    apiRow('PUT /organization/{orgname}/quota/{quota_id}/limit/{limit_id}', 'super:user', '401 403 403 403 403 403 403 403 401 ok 403 ok',
      async () => ({ path: `/organization/acme/quota/${quotaId}/limit/${await freshLimit()}`, body: { threshold_percent: percent++ } }), { tokenOwner: 'root', show: 'PUT /organization/acme/quota/<id>/limit/<fresh limit>' }),
    apiRow('DELETE /organization/{orgname}/quota/{quota_id}/limit/{limit_id}', 'super:user', '401 403 403 403 403 403 403 403 401 ok 403 ok',
      async () => ({ path: `/organization/acme/quota/${quotaId}/limit/${await freshLimit()}` }), { tokenOwner: 'root', show: 'DELETE /organization/acme/quota/<id>/limit/<fresh limit>' }),
    // One's own quota: user:admin, as Quay's require_user_admin.
    apiRow('GET /user/quota', 'user:admin',                                        '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok', '/user/quota'),

    // Builds (Quay's build.py): reading needs read, starting write, cancelling admin. A pull robot
    // also needs the admin role of its namespace (org:admin for a token).
    apiRow('GET /repository/{repository}/build', 'repo:read',                      '401 404  ok  ok  ok 404 404  ok  401   ok  404  404', '/repository/acme/private/build/'),
    apiRow('POST /repository/{repository}/build', 'repo:write',                    '401 404 403  ok  ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private/build/', body: buildForm() }), { show: 'POST /repository/acme/private/build/ (a Dockerfile upload)' }),
    apiRow('POST /repository/{repository}/build', 'repo:write',                    '401 404 403 403 403 404 404  ok  401  403  403  404',
      () => ({ path: '/repository/acme/private/build/', body: buildForm({ pull_robot: 'acme+bot' }) }), { show: 'POST /repository/acme/private/build/ {pull_robot: acme+bot}' }),
    apiRow('GET /repository/{repository}/build/{uuid}', 'repo:read',               '401 404  ok  ok  ok 404 404  ok  401   ok  404  404',
      () => ({ path: `/repository/acme/private/build/${buildUuid}` }), { show: 'GET /repository/acme/private/build/<build>' }),
    apiRow('GET /repository/{repository}/build/{uuid}/status', 'repo:read',        '401 404  ok  ok  ok 404 404  ok  401   ok  404  404',
      () => ({ path: `/repository/acme/private/build/${buildUuid}/status` }), { show: 'GET /repository/acme/private/build/<build>/status' }),
    apiRow('GET /repository/{repository}/build/{uuid}/logs', 'repo:read',          '401 404  ok  ok  ok 404 404  ok  401   ok  404  404',
      () => ({ path: `/repository/acme/private/build/${buildUuid}/logs` }), { show: 'GET /repository/acme/private/build/<build>/logs' }),
    apiRow('GET /repository/{repository}/build/{uuid}/logs/text', 'repo:read',     '401 404  ok  ok  ok 404 404  ok  401   ok  404  404',
      () => ({ path: `/repository/acme/private/build/${buildUuid}/logs/text` }), { show: 'GET /repository/acme/private/build/<build>/logs/text' }),
    streamRow(                                                                      '401 404  ok  ok  ok 404 404  ok  401   ok  404  404'),
    apiRow('DELETE /repository/{repository}/build/{uuid}', 'repo:admin',           '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/build/${await startBuild()}` }), { show: 'DELETE /repository/acme/private/build/<fresh build>' }),

    // Build triggers (Quay's trigger.py): repository admins; a pull robot as for builds.
    apiRow('GET /repository/{repository}/trigger', 'repo:admin',                   '401 404 403 403  ok 404 404  ok  401   ok  403  404', '/repository/acme/private/trigger/'),
    apiRow('POST /repository/{repository}/trigger', 'repo:admin',                  '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: '/repository/acme/private/trigger/', body: { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE } } }),
      { show: 'POST /repository/acme/private/trigger/ {custom-git}' }),
    apiRow('POST /repository/{repository}/trigger', 'repo:admin',                  '401 404 403 403 403 404 404  ok  401  403  403  404',
      () => ({ path: '/repository/acme/private/trigger/', body: { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE }, pull_robot: 'acme+bot' } }),
      { show: 'POST /repository/acme/private/trigger/ {custom-git, pull_robot: acme+bot}' }),
    apiRow('GET /repository/{repository}/trigger/{uuid}', 'repo:admin',            '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/trigger/${triggerUuid}` }), { show: 'GET /repository/acme/private/trigger/<trigger>' }),
    apiRow('PUT /repository/{repository}/trigger/{uuid}', 'repo:admin',            '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/trigger/${triggerUuid}`, body: { enabled: true } }), { show: 'PUT /repository/acme/private/trigger/<trigger> {enabled: true}' }),
    apiRow('DELETE /repository/{repository}/trigger/{uuid}', 'repo:admin',         '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/trigger/${await freshTrigger()}` }), { show: 'DELETE /repository/acme/private/trigger/<fresh trigger>' }),
    apiRow('POST /repository/{repository}/trigger/{uuid}/activate', 'repo:admin',  '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      async () => ({ path: `/repository/acme/private/trigger/${await freshTrigger()}/activate`, body: {} }), { show: 'POST /repository/acme/private/trigger/<fresh trigger>/activate' }),
    apiRow('GET /repository/{repository}/trigger/{uuid}/builds', 'repo:admin',     '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/trigger/${triggerUuid}/builds` }), { show: 'GET /repository/acme/private/trigger/<trigger>/builds' }),
    apiRow('POST /repository/{repository}/trigger/{uuid}/start', 'repo:admin',     '401 404 403 403  ok 404 404  ok  401   ok  403  404',
      () => ({ path: `/repository/acme/private/trigger/${triggerUuid}/start`, body: { commit_sha: 'a'.repeat(40) } }), { show: 'POST /repository/acme/private/trigger/<trigger>/start {commit_sha}' }),

    // An export link is its own credential (robots still may not use /api/v1).
    apiRow('GET /exportedlogs/{token}', null,                                      ' ok  ok  ok  ok  ok  ok  ok  ok  401   ok   ok   ok', async () => {
      const deadline = Date.now() + 15_000;
      while (exported.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(exported.length > 0, 'no export callback arrived');
      return { path: new URL(exported[0]!).pathname.replace(/^\/api\/v1/, '') };
    }, { show: 'GET /exportedlogs/<link from an export callback>' }),

    // The registry. Token grants (what /v2/auth puts in the token; `-` none).
    grantRow('acme/private', 'pull', 'repo:read',                                   '  -   -  pull pull pull  -   -  pull pull pull  -    -'),
    grantRow('acme/private', 'push', 'repo:write',                                  '  -   -   -   push push  -   -  push  -   push  -    -'),
    grantRow('acme/private', 'delete', 'repo:write',                                '  -   -   -  delete delete - -  delete -  delete -    -'),
    grantRow('acme/private', '*', 'repo:admin',                                     '  -   -   -    -   *    -   -   *    -    *    -    -'),
    grantRow('acme/public', 'pull', 'repo:read',                                    'pull pull pull pull pull pull pull pull pull pull pull pull'),
    grantRow('acme/public', 'push', 'repo:write',                                   '  -   -   -    -   -    -   -  push  -   push  -    -'),
    grantRow('acme/public', 'delete', 'repo:write',                                 '  -   -   -    -   -    -   - delete -  delete -    -'),
    grantRow('acme/public', '*', 'repo:admin',                                      '  -   -   -    -   -    -   -   *    -    *    -    -'),
    // Pushing a repository that does not exist yet creates it: creators and admins of acme (repo:create).
    grantRow('acme/not-yet', 'push', 'repo:create',                                 '  -   -   -    -   -    -  push push  -   push  -    -'),
    // Real requests. A push refusal is DENIED (403) whether or not the repository exists, so it reveals nothing.
    registryRow('GET', 'acme/private', 'tags/list', 'pull', 'repo:read',            '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404'),
    registryRow('GET', 'acme/public', 'tags/list', 'pull', 'repo:read',             ' ok  ok  ok  ok  ok  ok  ok  ok   ok   ok   ok   ok'),
    registryRow('POST', 'acme/private', 'blobs/uploads/', 'pull,push', 'repo:write', '401 403 403  ok  ok 403 403  ok  403   ok  403  403'),
    registryRow('POST', 'acme/public', 'blobs/uploads/', 'pull,push', 'repo:write',  '401 403 403 403 403 403 403  ok  403   ok  403  403'),

    // One real request per registry action: the base, the catalog (what each caller sees), blobs,
    // manifests by tag and by digest, uploads, a cross-repository mount, referrers.
    v2Row('registry GET /v2/', null,                                                '401  ok  ok  ok  ok  ok  ok  ok   ok   ok   ok   ok', { method: 'GET', path: '/v2/', grants: [] }),
    v2Row('registry GET /v2/_catalog', 'repo:read',                                 ' no  no yes yes yes  no  no yes  yes  yes   no   no',
      { method: 'GET', path: '/v2/_catalog', grants: ['registry:catalog:*'] }, { show: 'GET /v2/_catalog (acme/private listed: yes/no)', observe: catalogLists('acme/private') }),
    v2Row('registry GET /v2/_catalog', 'repo:read',                                 'yes yes yes yes yes yes yes yes  yes  yes  yes  yes',
      { method: 'GET', path: '/v2/_catalog', grants: ['registry:catalog:*'] }, { show: 'GET /v2/_catalog (acme/public listed: yes/no)', observe: catalogLists('acme/public') }),
    v2Row('registry HEAD /v2/{name}/blobs/{digest}', 'repo:read',                   '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      () => ({ method: 'HEAD', path: `/v2/acme/private/blobs/${configDigest}`, grants: pull('acme/private') }), { show: 'HEAD /v2/acme/private/blobs/<config>' }),
    v2Row('registry GET /v2/{name}/blobs/{digest}', 'repo:read',                    '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      () => ({ method: 'GET', path: `/v2/acme/private/blobs/${configDigest}`, grants: pull('acme/private') }), { show: 'GET /v2/acme/private/blobs/<config>' }),
    v2Row('registry GET /v2/{name}/blobs/{digest}', 'repo:read',                    ' ok  ok  ok  ok  ok  ok  ok  ok   ok   ok   ok   ok',
      () => ({ method: 'GET', path: `/v2/acme/public/blobs/${configDigest}`, grants: pull('acme/public') }), { show: 'GET /v2/acme/public/blobs/<config>' }),
    v2Row('registry GET /v2/{name}/manifests/{tag}', 'repo:read',                   '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      { method: 'GET', path: '/v2/acme/private/manifests/base', grants: pull('acme/private'), headers: OCI }),
    v2Row('registry HEAD /v2/{name}/manifests/{tag}', 'repo:read',                  '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      { method: 'HEAD', path: '/v2/acme/private/manifests/base', grants: pull('acme/private'), headers: OCI }),
    v2Row('registry GET /v2/{name}/manifests/{digest}', 'repo:read',                '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      () => ({ method: 'GET', path: `/v2/acme/private/manifests/${manifestDigest}`, grants: pull('acme/private'), headers: OCI }), { show: 'GET /v2/acme/private/manifests/<digest>' }),
    v2Row('registry HEAD /v2/{name}/manifests/{digest}', 'repo:read',               '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      () => ({ method: 'HEAD', path: `/v2/acme/private/manifests/${manifestDigest}`, grants: pull('acme/private'), headers: OCI }), { show: 'HEAD /v2/acme/private/manifests/<digest>' }),
    v2Row('registry GET /v2/{name}/manifests/{tag}', 'repo:read',                   ' ok  ok  ok  ok  ok  ok  ok  ok   ok   ok   ok   ok',
      { method: 'GET', path: '/v2/acme/public/manifests/base', grants: pull('acme/public'), headers: OCI }),
    v2Row('registry GET /v2/{name}/referrers/{digest}', 'repo:read',                '401 404  ok  ok  ok 404 404  ok   ok   ok  404  404',
      () => ({ method: 'GET', path: `/v2/acme/private/referrers/${manifestDigest}`, grants: pull('acme/private') }), { show: 'GET /v2/acme/private/referrers/<digest>' }),
    v2Row('registry PUT /v2/{name}/manifests/{tag}', 'repo:write',                  '401 403 403  ok  ok 403 403  ok  403   ok  403  403',
      () => ({ method: 'PUT', path: `/v2/acme/private/manifests/${fresh('pushed')}`, grants: push('acme/private'), headers: PUT_OCI, body: manifestBytes }),
      { show: 'PUT /v2/acme/private/manifests/<fresh tag>' }),
    v2Row('registry PUT /v2/{name}/manifests/{digest}', 'repo:write',               '401 403 403  ok  ok 403 403  ok  403   ok  403  403',
      () => ({ method: 'PUT', path: `/v2/acme/private/manifests/${manifestDigest}`, grants: push('acme/private'), headers: PUT_OCI, body: manifestBytes }),
      { show: 'PUT /v2/acme/private/manifests/<digest>' }),
    v2Row('registry PUT /v2/{name}/manifests/{tag}', 'repo:write',                  '401 403 403 403 403 403 403  ok  403   ok  403  403',
      () => ({ method: 'PUT', path: `/v2/acme/public/manifests/${fresh('pushed')}`, grants: push('acme/public'), headers: PUT_OCI, body: manifestBytes }),
      { show: 'PUT /v2/acme/public/manifests/<fresh tag>' }),
    v2Row('registry DELETE /v2/{name}/manifests/{tag}', 'repo:write',               '401 403 403  ok  ok 403 403  ok  403   ok  403  403',
      async () => ({ method: 'DELETE', path: `/v2/acme/private/manifests/${await freshTag()}`, grants: ['repository:acme/private:delete'] }),
      { show: 'DELETE /v2/acme/private/manifests/<fresh tag>' }),
    v2Row('registry DELETE /v2/{name}/manifests/{digest}', 'repo:write',            '401 403 403  ok  ok 403 403  ok  403   ok  403  403', async () => {
      const { digest } = await pushImage('acme/private', fresh('doomed'), fresh('unique'));
      return { method: 'DELETE', path: `/v2/acme/private/manifests/${digest}`, grants: ['repository:acme/private:delete'] };
    }, { show: 'DELETE /v2/acme/private/manifests/<digest of a fresh image>' }),
    v2Row('registry DELETE /v2/{name}/blobs/{digest}', 'repo:write',                '401 403 403  ok  ok 403 403  ok  403   ok  403  403',
      async () => ({ method: 'DELETE', path: `/v2/acme/private/blobs/${await pushBlob('acme/private')}`, grants: ['repository:acme/private:delete'] }),
      { show: 'DELETE /v2/acme/private/blobs/<fresh blob>' }),
    v2Row('registry PATCH /v2/{name}/blobs/uploads/{uuid}', 'repo:write',           '401 403 403  ok  ok 403 403  ok  403   ok  403  403', async () => ({
      method: 'PATCH', path: await openUpload('acme/private'), grants: push('acme/private'), headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from('chunk'),
    }), { show: 'PATCH /v2/acme/private/blobs/uploads/<upload alice opened>' }),
    v2Row('registry PUT /v2/{name}/blobs/uploads/{uuid}', 'repo:write',             '401 403 403  ok  ok 403 403  ok  403   ok  403  403', async () => {
      const bytes = Buffer.from(fresh('last-chunk-'));
      return {
        method: 'PUT', path: `${await openUpload('acme/private')}?digest=sha256:${createHash('sha256').update(bytes).digest('hex')}`,
        grants: push('acme/private'), headers: { 'content-type': 'application/octet-stream' }, body: bytes,
      };
    }, { show: 'PUT /v2/acme/private/blobs/uploads/<upload alice opened>?digest=' }),
    // Mounting from acme/vault, which only acme's admins read: without pull there the server takes a plain upload instead.
    v2Row('registry POST /v2/{name}/blobs/uploads/?mount=&from=', 'repo:write',     '401 403 403 upload upload 403 403 mount 403 mount 403 403', async () => {
      const target = await freshRepo('private');
      return { method: 'POST', path: `/v2/${target}/blobs/uploads/?mount=${vaultBlob}&from=acme/vault`, grants: [...push(target), ...pull('acme/vault')] };
    }, { show: 'POST /v2/<fresh private repo>/blobs/uploads/?mount=<blob>&from=acme/vault (mount/upload)', observe: mountOutcome }),

    // Last: deleting oneself. Each cell deletes a fresh twin of its principal (same relation to acme).
    apiRow('DELETE /user/', 'user:admin',                                          '401  ok  ok  ok  ok  ok  ok  ok  401   ok  403   ok',
      async (c) => ({ path: '/user/', caller: await twin(c.col, c.row) }), { show: 'DELETE /user/ (as a fresh twin of the principal)' }),
  ];

  // Endpoints left out of the matrix, and why.
  const SKIPPED: Record<string, string> = {
    // (none: every documented /api/v1 operation has a row; /oauth/authorize and /oauth/access_token are
    // not /api/v1 operations — the flow authenticates with a password or a client secret, covered in oauth.test.ts)
  };

  // Operations registered without documented(summary, scopes), so the discovery document states no
  // scope for them. Empty: every operation documents its scope.
  const UNDOCUMENTED: string[] = [];

  // ---- the fixture --------------------------------------------------------------------------

  before(async function () {
    this.timeout(120_000);
    hook = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        try {
          const note = JSON.parse(data) as { exported_data_url?: string; status?: string };
          if (note.status === 'success' && note.exported_data_url) exported.push(note.exported_data_url);
        } catch {
          // ignore
        }
        res.end('ok');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    callbackUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/exported`;

    podmanDir = mkdtempSync(path.join(os.tmpdir(), 'matrix-podman-'));
    podman = net.createServer((socket) => {
      podmanSockets.add(socket);
      socket.on('close', () => podmanSockets.delete(socket));
      socket.on('error', () => undefined);
    });
    podman.listen(path.join(podmanDir, 'podman.sock'));
    await once(podman, 'listening');

    server = await startServer({
      config: {
        FEATURE_USER_CREATION: true, PERMANENTLY_DELETE_TAGS: true, FEATURE_QUOTA_MANAGEMENT: true, FEATURE_BUILD_SUPPORT: true,
        BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1 },
        EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'silent', PODMAN_HOST: `unix://${path.join(podmanDir, 'podman.sock')}` }],
      },
    });
    const rootPassword = 'root-password-1';
    await server.cli('admin', 'create-user', 'root', '--email', 'root@example.com', '--password', rootPassword, '--superuser');
    passwords.root = rootPassword;
    const rootBasic: Caller = { basic: ['root', rootPassword] };
    const a = await must(rootBasic, 'POST', '/superuser/users/', { username: 'alice', email: 'alice@example.com' });
    const aliceBasic: Caller = { basic: ['alice', a.password] };
    await must(aliceBasic, 'POST', '/organization/', { name: 'acme', email: 'acme@example.com' });
    clientId = (await must(aliceBasic, 'POST', '/organization/acme/applications', { name: 'matrix', redirect_uri: REDIRECT })).client_id;
    alice = { bearer: await authorizedToken('alice', a.password, USER_SCOPES) };
    root = { bearer: await authorizedToken('root', rootPassword, ALL_SCOPES) };

    for (const name of ['outsider', 'reader', 'writer', 'repoadmin', 'member', 'creator', 'orgadmin', 'bystander']) {
      const u = await newUser(name);
      if (name !== 'bystander') callers[name as 'outsider'] = u.caller;
    }
    callers.anonymous = null;
    callers.superuser = root;

    await must(alice, 'POST', '/repository', { namespace: 'acme', repository: 'private', visibility: 'private' });
    await must(alice, 'POST', '/repository', { namespace: 'acme', repository: 'public', visibility: 'public' });
    for (const [who, role] of [['reader', 'read'], ['writer', 'write'], ['repoadmin', 'admin']]) {
      await must(alice, 'PUT', `/repository/acme/private/permissions/user/${who}`, { role });
    }
    for (const [team, role, user] of [['members', 'member', 'member'], ['creators', 'creator', 'creator'], ['admins', 'admin', 'orgadmin'], ['bystanders', 'member', 'bystander']]) {
      await must(alice, 'PUT', `/organization/acme/team/${team}`, { role });
      await must(alice, 'PUT', `/organization/acme/team/${team}/members/${user}`, {});
    }
    await must(alice, 'PUT', '/repository/acme/private/permissions/team/bystanders', { role: 'read' });
    const bot = await must(alice, 'PUT', '/organization/acme/robots/bot', { description: 'reads acme/private' });
    robot = { basic: ['acme+bot', bot.token] };
    callers.robot = robot;
    await must(alice, 'PUT', '/repository/acme/private/permissions/user/acme+bot', { role: 'read' });
    ({ digest: manifestDigest, manifest: manifestBytes, configDigest } = await pushImage('acme/private', 'base'));
    await pushImage('acme/public', 'base');
    await must(alice, 'POST', '/repository', { namespace: 'acme', repository: 'vault', visibility: 'private' });
    vaultBlob = await pushBlob('acme/vault');
    buildUuid = await startBuild();
    triggerUuid = await freshTrigger(true);
    await must(root, 'POST', '/organization/acme/quota', { limit_bytes: 1_000_000_000 });
    quotaId = (await must(root, 'GET', '/organization/acme/quota'))[0].id;
    await must(root, 'POST', `/organization/acme/quota/${quotaId}/limit`, { type: 'Warning', threshold_percent: percent++ });
    limitId = (await must(root, 'GET', `/organization/acme/quota/${quotaId}/limit`))[0].id;
    labelId = (await must(alice, 'POST', `/repository/acme/private/manifest/${manifestDigest}/labels`, { key: 'matrix', value: 'kept', media_type: 'text/plain' })).label.id;
    // Every user column (and the token owners) has a robot of its own for the /user/robots rows.
    for (const who of new Set([alice, root, ...Object.values(callers)])) {
      if (who && 'bearer' in who) await must(who, 'PUT', '/user/robots/mine', {});
    }

    // The token columns: alice's through acme's application; root's through an application of an organization of root's.
    await must(root, 'POST', '/organization/', { name: 'ops', email: 'ops@example.com' });
    const opsApp = (await must(root, 'POST', '/organization/ops/applications', { name: 'ops', redirect_uri: REDIRECT })).client_id;
    for (const row of ROWS) {
      for (const col of ['token+', 'token-'] as const) {
        const key = tokenKey(row, col);
        if (tokens.has(key)) continue;
        const scopes = tokenScopes(row, col);
        tokens.set(key, row.tokenOwner === 'root' ? await mint(root, 'ops', opsApp, scopes) : await mint(alice, 'acme', clientId, scopes));
      }
    }
  });

  after(async () => {
    hook?.close();
    // First, or the server's shutdown waits on a build talking to the silent socket.
    podman?.close();
    for (const socket of podmanSockets) socket.destroy();
    await server?.stop();
    if (podmanDir) rmSync(podmanDir, { recursive: true, force: true });
  });

  // ---- the checks ---------------------------------------------------------------------------

  describe('the table', () => {
    it('has a row for every operation of GET /api/v1/discovery, and none for operations it does not list', async () => {
      const doc = (await (await fetch(`${server.url}/api/v1/discovery`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
      const covered = new Set(ROWS.map((r) => r.op));
      const missing = documented.filter((op) => !covered.has(op) && !(op in SKIPPED));
      assert.deepEqual(missing, [], 'operations without a row in the matrix');
      const stale = [...covered].filter((op) => op.startsWith('GET ') || op.startsWith('PUT ') || op.startsWith('POST ') || op.startsWith('DELETE '))
        .filter((op) => !documented.includes(op));
      assert.deepEqual(stale, [], 'rows for operations the discovery document does not list');
    });

    it('needs, for each operation, the scope the discovery document states', async () => {
      const doc = (await (await fetch(`${server.url}/api/v1/discovery`)).json()) as {
        paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
      };
      const wrong: string[] = [];
      for (const row of ROWS) {
        const [method, path] = row.op.split(' ') as [string, string];
        const op = doc.paths[path]?.[method.toLowerCase()];
        if (!op) continue;
        const stated = op.security === undefined ? [] : op.security.flatMap((s) => s.oauth2 ?? []);
        const expected = row.scope && !UNDOCUMENTED.includes(row.op) ? [row.scope] : [];
        if (JSON.stringify(stated) !== JSON.stringify(expected)) wrong.push(`${row.op}: the document says [${stated.join(' ')}], the rules [${expected.join(' ')}]`);
      }
      assert.deepEqual([...new Set(wrong)], [], 'UNDOCUMENTED lists the operations known to state no scope yet');
    });
  });

  for (const row of ROWS) {
    describe(row.show, () => {
      for (const col of COLUMNS) {
        const expected = row.expect[col];
        const shown = expected === 'ok' ? '2xx' : row.op.startsWith('registry token') ? `grants ${expected}` : expected;
        const who = col === 'token+' || col === 'token-' ? tokenLabel(row, col) : WHO[col];
        it(`${who} ${row.show} → ${shown}`, async () => {
          const { outcome, detail } = await row.run(cellFor(row, col));
          assert.equal(outcome, expected, detail);
        });
      }
    });
  }

  // The columns above use each user's full token; its password must give the same answers. A sample
  // (each Basic call pays for a password hash).
  describe('a password (Basic) instead of the full token', () => {
    const users: Partial<Record<Column, string>> = {
      outsider: 'outsider', reader: 'reader', writer: 'writer', repoadmin: 'repoadmin', member: 'member', creator: 'creator', orgadmin: 'orgadmin', superuser: 'root',
    };
    for (const show of ['GET /repository/acme/private', 'PUT /organization/acme', 'GET /superuser/users/']) {
      const row = ROWS.find((r) => r.show === show)!;
      for (const [col, user] of Object.entries(users) as [Column, string][]) {
        const expected = row.expect[col];
        it(`${WHO[col]} with its password ${show} → ${expected === 'ok' ? '2xx' : expected}`, async () => {
          const caller: Caller = { basic: [user, passwords[user]!] };
          const { outcome, detail } = await row.run({ row, col, caller, owner: callers[col as 'outsider'] });
          assert.equal(outcome, expected, detail);
        });
      }
    }
  });
});
