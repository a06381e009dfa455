// Manifests, tags, referrers and the catalog over HTTP, against the real server.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDb, type Db } from '../../src/db/index.js';
import { freshPostgres, registryToken, startServer, TEST_DB, type ServerOptions, type TestServer } from '../support/server.js';
import { createUser, pushBlob, request, sha256, userToken, type Answer } from './registry-client.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';

const digestOf = (data: Buffer | string) => sha256(Buffer.from(data));
const json = <T>(res: Answer) => JSON.parse(res.body.toString('utf8')) as T;

/** A server plus a connection to its database, to look at what the API does not show. */
interface Harness {
  server: TestServer;
  db: Db;
  stop(): Promise<void>;
}

async function startHarness(opts: ServerOptions = {}): Promise<Harness> {
  // A database of our own (the last DATABASE_URL wins), so the test knows where to look.
  const pg = TEST_DB === 'postgres' ? await freshPostgres() : null;
  const server = await startServer({ ...opts, env: pg ? { DATABASE_URL: pg.url } : {} });
  const db = createDb(pg ? pg.url : `sqlite:${path.join(server.dataDir, 'slipway.db')}`);
  return {
    server, db,
    async stop() {
      await db.destroy();
      await server.stop();
      await pg?.drop();
    },
  };
}

interface PushedImage {
  manifest: { config: object; layers: object[] };
  bytes: Buffer;
  digest: string;
  size: number;
  res: Answer;
}

/** A user's registry client, holding a token per repository as Docker clients do. */
function client(server: TestServer, user: string) {
  const tokens = new Map<string, Promise<string>>();
  const token = (repo: string) => {
    if (!tokens.has(repo)) tokens.set(repo, userToken(server, user, [repo]));
    return tokens.get(repo)!;
  };
  const call = async (method: string, repo: string, rest: string, init: { body?: Buffer | Readable; headers?: Record<string, string> } = {}) =>
    request(server, method, `/v2/${repo}/${rest}`, { token: await token(repo), ...init });
  const putManifest = (repo: string, ref: string, manifest: unknown, contentType?: string) => {
    const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    const type = contentType ?? (manifest as { mediaType?: string }).mediaType;
    return call('PUT', repo, `manifests/${ref}`, { body, headers: type ? { 'content-type': type } : {} });
  };
  const blob = async (repo: string, data: string) => ({ digest: await pushBlob(server, await token(repo), repo, Buffer.from(data)), size: Buffer.byteLength(data) });
  return {
    call, putManifest, blob,
    /** Pushes a one-layer image, blobs first. */
    async pushImage(repo: string, ref: string, seed: string, mediaType = OCI_MANIFEST): Promise<PushedImage> {
      const docker = mediaType === DOCKER_MANIFEST;
      const config = await blob(repo, JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
      const layer = await blob(repo, `layer bytes for ${seed}`);
      const manifest = {
        schemaVersion: 2, mediaType,
        config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      };
      const bytes = Buffer.from(JSON.stringify(manifest, null, 2));
      const res = await putManifest(repo, ref, bytes, mediaType);
      assert.equal(res.status, 201, res.body.toString());
      return { manifest, bytes, digest: digestOf(bytes), size: bytes.length, res };
    },
    async tags(repo: string): Promise<string[]> {
      const res = await call('GET', repo, 'tags/list');
      assert.equal(res.status, 200);
      return json<{ tags: string[] }>(res).tags;
    },
  };
}

function expectError(res: Answer, status: number, code: string): unknown {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.body.toString()}`);
  const [err] = res.errors();
  assert.equal(err!.code, code);
  return err!.detail;
}

describe(`manifests, tags and referrers over HTTP (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  let alice: ReturnType<typeof client>;

  before(async () => {
    h = await startHarness();
    await createUser(h.server, 'alice');
    alice = client(h.server, 'alice');
  });
  after(async () => h?.stop());

  it('pushes an image by tag and serves it back byte for byte by tag and by digest', async () => {
    const img = await alice.pushImage('alice/app', 'v1', 'one');
    assert.equal(img.res.headers.location, `/v2/alice/app/manifests/${img.digest}`);
    assert.equal(img.res.headers['docker-content-digest'], img.digest);
    assert.equal(img.res.headers['oci-subject'], undefined);

    for (const ref of ['v1', img.digest]) {
      const res = await alice.call('GET', 'alice/app', `manifests/${ref}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], OCI_MANIFEST);
      assert.equal(res.headers['docker-content-digest'], img.digest);
      assert.equal(res.headers['content-length'], String(img.size));
      assert.equal(res.headers.etag, `"${img.digest}"`);
      assert.ok(res.body.equals(img.bytes));
    }
    const head = await alice.call('HEAD', 'alice/app', 'manifests/v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(img.size));
    assert.equal(head.headers['docker-content-digest'], img.digest);
    const cached = await alice.call('GET', 'alice/app', 'manifests/v1', { headers: { 'if-none-match': `"${img.digest}"` } });
    assert.equal(cached.status, 304);

    // Pushed by digest only: stored, but no tag.
    const config = await alice.blob('alice/app', '{"seed":"three"}');
    const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [] };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const put = await alice.putManifest('alice/app', digestOf(bytes), bytes, OCI_MANIFEST);
    assert.equal(put.status, 201);
    assert.equal((await alice.call('GET', 'alice/app', `manifests/${digestOf(bytes)}`)).status, 200);
    assert.deepEqual(await alice.tags('alice/app'), ['v1']);
  });

  it('negotiates on Accept, as the reference registry does', async () => {
    const img = await alice.pushImage('alice/accept', 'oci', 'accept-oci');
    const docker = await alice.pushImage('alice/accept', 'docker', 'accept-docker', DOCKER_MANIFEST);
    const get = (ref: string, accept?: string) => alice.call('GET', 'alice/accept', `manifests/${ref}`, { headers: accept ? { accept } : {} });

    assert.equal((await get('oci')).status, 200);
    assert.equal((await get('oci', `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`)).status, 200);
    assert.equal((await get('oci', '*/*')).status, 200);
    expectError(await get('oci', DOCKER_MANIFEST), 404, 'MANIFEST_UNKNOWN');
    expectError(await get(img.digest, `${DOCKER_MANIFEST}, ${DOCKER_LIST}`), 404, 'MANIFEST_UNKNOWN');
    const res = await get('docker', DOCKER_MANIFEST);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], DOCKER_MANIFEST);
    assert.equal(res.headers['docker-content-digest'], docker.digest);
  });

  for (const [kind, listType, childType] of [['an OCI index', OCI_INDEX, OCI_MANIFEST], ['a Docker manifest list', DOCKER_LIST, DOCKER_MANIFEST]] as const) {
    it(`stores ${kind} of two images, whose children must be in the repository`, async () => {
      const repo = `alice/multi-${listType === OCI_INDEX ? 'oci' : 'docker'}`;
      const amd = await alice.pushImage(repo, 'amd64', `${repo}-amd`, childType);
      const arm = await alice.pushImage(repo, 'arm64', `${repo}-arm`, childType);
      const entry = (img: typeof amd, architecture: string) => ({ mediaType: childType, digest: img.digest, size: img.size, platform: { os: 'linux', architecture } });
      const list = { schemaVersion: 2, mediaType: listType, manifests: [entry(amd, 'amd64'), entry(arm, 'arm64')] };

      const stranger = { ...list, manifests: [...list.manifests, { ...entry(amd, 's390x'), digest: digestOf('not pushed') }] };
      assert.equal(expectError(await alice.putManifest(repo, 'latest', stranger), 400, 'MANIFEST_BLOB_UNKNOWN'), digestOf('not pushed'));
      expectError(await alice.call('GET', repo, 'manifests/latest'), 404, 'MANIFEST_UNKNOWN');

      const put = await alice.putManifest(repo, 'latest', list);
      assert.equal(put.status, 201, put.body.toString());
      const res = await alice.call('GET', repo, 'manifests/latest');
      assert.equal(res.headers['content-type'], listType);
      assert.deepEqual(json<typeof list>(res).manifests.map((m) => m.digest), [amd.digest, arm.digest]);
    });
  }

  it('finds an artifact through the referrers API, with and without an artifactType filter', async () => {
    const repo = 'alice/signed';
    const empty = await alice.blob(repo, '{}');
    const subjectImage = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: EMPTY, ...empty }, layers: [], annotations: { n: 'subject' } };
    const subjectBytes = Buffer.from(JSON.stringify(subjectImage));
    const subject = { mediaType: OCI_MANIFEST, digest: digestOf(subjectBytes), size: subjectBytes.length };
    const artifact = (artifactType: string, note: string) => ({
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: { mediaType: EMPTY, ...empty },
      layers: [{ mediaType: EMPTY, ...empty }], subject, annotations: { note },
    });

    // The subject need not be there yet (the spec allows pushing referrers first).
    const sbom = artifact('application/vnd.example.sbom', 'sbom');
    const put = await alice.putManifest(repo, digestOf(JSON.stringify(sbom)), JSON.stringify(sbom), OCI_MANIFEST);
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers['oci-subject'], subject.digest);
    assert.equal((await alice.putManifest(repo, 'v1', subjectBytes, OCI_MANIFEST)).status, 201);
    const sig = artifact('application/vnd.example.signature', 'sig');
    assert.equal((await alice.putManifest(repo, 'sig', sig)).status, 201);

    const referrers = async (query = '') => {
      const res = await alice.call('GET', repo, `referrers/${subject.digest}${query}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], OCI_INDEX);
      return { res, index: json<{ mediaType: string; manifests: Record<string, unknown>[] }>(res) };
    };
    const all = await referrers();
    assert.equal(all.index.mediaType, OCI_INDEX);
    assert.equal(all.res.headers['oci-filters-applied'], undefined);
    assert.deepEqual(all.index.manifests, [
      { mediaType: OCI_MANIFEST, digest: digestOf(JSON.stringify(sbom)), size: JSON.stringify(sbom).length, artifactType: 'application/vnd.example.sbom', annotations: { note: 'sbom' } },
      { mediaType: OCI_MANIFEST, digest: digestOf(JSON.stringify(sig)), size: JSON.stringify(sig).length, artifactType: 'application/vnd.example.signature', annotations: { note: 'sig' } },
    ]);
    const filtered = await referrers('?artifactType=application/vnd.example.signature');
    assert.equal(filtered.res.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(filtered.index.manifests.map((m) => m.annotations), [{ note: 'sig' }]);

    const unknown = await alice.call('GET', repo, `referrers/${digestOf('nobody refers to me')}`);
    assert.equal(unknown.status, 200);
    assert.deepEqual(json<{ manifests: unknown[] }>(unknown).manifests, []);
    expectError(await alice.call('GET', repo, 'referrers/sha256:nothex'), 400, 'DIGEST_INVALID');
  });

  it('pages through the tag list with a Link header', async () => {
    const repo = 'alice/paged';
    const img = await alice.pushImage(repo, 'e', 'paged');
    for (const tag of ['c', 'a', 'B', 'd']) assert.equal((await alice.putManifest(repo, tag, img.bytes, OCI_MANIFEST)).status, 201);
    const seen: string[] = [];
    let next: string | null = `tags/list?n=2`;
    const links: string[] = [];
    while (next) {
      const res = await alice.call('GET', repo, next);
      assert.equal(res.status, 200);
      const body = json<{ name: string; tags: string[] }>(res);
      assert.equal(body.name, repo);
      assert.ok(body.tags.length <= 2);
      seen.push(...body.tags);
      const link = res.headers.link as string | undefined;
      if (link) links.push(link);
      next = link ? /^<\/v2\/alice\/paged\/(.+)>; rel="next"$/.exec(link)![1]! : null;
    }
    assert.deepEqual(seen, ['B', 'a', 'c', 'd', 'e']);
    assert.deepEqual(links, ['</v2/alice/paged/tags/list?n=2&last=a>; rel="next"', '</v2/alice/paged/tags/list?n=2&last=d>; rel="next"']);
    assert.deepEqual(await alice.tags(repo), ['B', 'a', 'c', 'd', 'e']);
  });

  it('moves a tag in one step and keeps the old row as history', async () => {
    const repo = 'alice/moving';
    const first = await alice.pushImage(repo, 'latest', 'first');
    const second = await alice.pushImage(repo, 'latest', 'second');
    const res = await alice.call('GET', repo, 'manifests/latest');
    assert.equal(res.headers['docker-content-digest'], second.digest);
    assert.equal((await alice.call('GET', repo, `manifests/${first.digest}`)).status, 200);
    // Pushing the same manifest to the same tag again is not a move.
    assert.equal((await alice.putManifest(repo, 'latest', second.bytes, OCI_MANIFEST)).status, 201);

    const rows = await h.db('tags as t').join('repositories as r', 'r.id', 't.repository_id')
      .where({ 'r.name': 'moving', 't.name': 'latest' }).orderBy('t.id').select('t.manifest_digest', 't.lifetime_start', 't.lifetime_end');
    assert.equal(rows.length, 2);
    assert.equal(rows[0].manifest_digest, first.digest);
    assert.equal(rows[1].manifest_digest, second.digest);
    assert.ok(rows[0].lifetime_end !== null && Number(rows[0].lifetime_end) <= Number(rows[1].lifetime_start));
    assert.equal(rows[1].lifetime_end, null);
  });

  it('lets concurrent pushes to one tag all succeed, leaving one open row', async () => {
    const repo = 'alice/racing';
    const images = [];
    for (let i = 0; i < 8; i++) images.push(await alice.pushImage(repo, `seed-${i}`, `racing-${i}`));
    const results = await Promise.all(images.map((img) => alice.putManifest(repo, 'latest', img.bytes, OCI_MANIFEST)));
    assert.deepEqual(results.map((r) => r.status), images.map(() => 201));
    const open = await h.db('tags as t').join('repositories as r', 'r.id', 't.repository_id')
      .where({ 'r.name': 'racing', 't.name': 'latest' }).whereNull('t.lifetime_end').select('t.manifest_digest');
    assert.equal(open.length, 1);
    const res = await alice.call('GET', repo, 'manifests/latest');
    assert.equal(res.headers['docker-content-digest'], open[0].manifest_digest);
  });

  it('deletes a tag, and a manifest with every tag on it', async () => {
    const repo = 'alice/deleting';
    const img = await alice.pushImage(repo, 'one', 'deleting');
    assert.equal((await alice.putManifest(repo, 'two', img.bytes, OCI_MANIFEST)).status, 201);
    assert.equal((await alice.call('DELETE', repo, 'manifests/one')).status, 202);
    expectError(await alice.call('GET', repo, 'manifests/one'), 404, 'MANIFEST_UNKNOWN');
    expectError(await alice.call('DELETE', repo, 'manifests/one'), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual(await alice.tags(repo), ['two']);
    const logged = await h.db('usage_logs').where({ kind: 'delete_tag', repository: 'deleting' }).select('metadata', 'performer');
    assert.equal(logged.length, 1, 'a tag deleted through /v2 is logged once as delete_tag');
    assert.deepEqual(JSON.parse(logged[0].metadata), { namespace: 'alice', repo: 'deleting', tag: 'one', manifest_digest: img.digest });

    assert.equal((await alice.call('DELETE', repo, `manifests/${img.digest}`)).status, 202);
    expectError(await alice.call('GET', repo, `manifests/${img.digest}`), 404, 'MANIFEST_UNKNOWN');
    expectError(await alice.call('GET', repo, 'manifests/two'), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual(await alice.tags(repo), []);
    expectError(await alice.call('DELETE', repo, `manifests/${img.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  describe('refuses bad input and leaves nothing behind', () => {
    const repo = 'alice/strict';
    let good: { manifest: { config: object; layers: object[] }; bytes: Buffer };
    let manifestsBefore = 0;

    before(async () => {
      good = await alice.pushImage(repo, 'good', 'strict');
      manifestsBefore = await countManifests();
    });
    async function countManifests(): Promise<number> {
      const [row] = await h.db('manifests').count({ n: '*' });
      return Number(row!.n);
    }
    async function refused(res: Answer, status: number, code: string, tag = 'bad'): Promise<unknown> {
      const detail = expectError(res, status, code);
      expectError(await alice.call('GET', repo, `manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
      assert.deepEqual(await alice.tags(repo), ['good']);
      assert.equal(await countManifests(), manifestsBefore);
      return detail;
    }
    const withLayer = (layer: { digest: string; size: number }) => ({
      ...good.manifest, mediaType: OCI_MANIFEST, layers: [...good.manifest.layers, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    });

    it('a blob the repository does not have, even one another repository has', async () => {
      const nowhere = { digest: digestOf('never uploaded'), size: 14 };
      assert.equal(await refused(await alice.putManifest(repo, 'bad', withLayer(nowhere)), 400, 'MANIFEST_BLOB_UNKNOWN'), nowhere.digest);
      const elsewhere = await alice.blob('alice/other', 'only in the other repository');
      assert.equal(await refused(await alice.putManifest(repo, 'bad', withLayer(elsewhere)), 400, 'MANIFEST_BLOB_UNKNOWN'), elsewhere.digest);
    });

    it('malformed JSON, a media type mismatch, schema 1 and a bad tag', async () => {
      await refused(await alice.putManifest(repo, 'bad', '{"schemaVersion": 2,', OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      await refused(await alice.putManifest(repo, 'bad', good.bytes, OCI_INDEX), 400, 'MANIFEST_INVALID');
      await refused(await alice.putManifest(repo, 'bad', good.bytes, DOCKER_MANIFEST), 400, 'MANIFEST_INVALID');
      const schema1 = { schemaVersion: 1, name: repo, tag: 'bad', fsLayers: [], history: [] };
      await refused(await alice.putManifest(repo, 'bad', schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws'), 400, 'MANIFEST_INVALID');
      await refused(await alice.putManifest(repo, '-bad', good.bytes, OCI_MANIFEST), 400, 'MANIFEST_INVALID', 'bad');
    });

    it('a digest reference that does not match the content', async () => {
      const other = digestOf(Buffer.concat([good.bytes, Buffer.from(' ')]));
      await refused(await alice.putManifest(repo, other, good.bytes, OCI_MANIFEST), 400, 'DIGEST_INVALID', other);
      await refused(await alice.putManifest(repo, 'sha256:short', good.bytes, OCI_MANIFEST), 400, 'DIGEST_INVALID');
    });

    it('a push that fails does not create the repository', async () => {
      const res = await alice.putManifest('alice/never', 'v1', withLayer({ digest: digestOf('absent'), size: 6 }));
      expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
      expectError(await alice.call('GET', 'alice/never', 'tags/list'), 404, 'NAME_UNKNOWN');
    });
  });
});

describe(`manifest size limit (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { MAXIMUM_MANIFEST_SIZE: 1024 } });
    await createUser(h.server, 'alice');
  });
  after(async () => h?.stop());

  it('answers 413 to an oversized manifest, declared or streamed, and stores nothing', async () => {
    const alice = client(h.server, 'alice');
    const config = await alice.blob('alice/big', '{}');
    const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: EMPTY, ...config }, layers: [], annotations: { pad: 'x'.repeat(2000) } };
    expectError(await alice.putManifest('alice/big', 'v1', manifest), 413, 'SIZE_INVALID');

    // Without a Content-Length the limit is enforced while reading.
    const body = Readable.from([Buffer.from(JSON.stringify(manifest))]);
    const streamed = await alice.call('PUT', 'alice/big', 'manifests/v2', { body, headers: { 'content-type': OCI_MANIFEST } });
    expectError(streamed, 413, 'SIZE_INVALID');

    assert.deepEqual(await alice.tags('alice/big'), []);
    const small = { ...manifest, annotations: {} };
    assert.equal((await alice.putManifest('alice/big', 'v1', small)).status, 201);
  });
});

describe(`catalog visibility (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  const catalog = async (token?: string, query = '') => {
    const res = await request(h.server, 'GET', `/v2/_catalog${query}`, { token });
    assert.equal(res.status, 200);
    return { res, repositories: json<{ repositories: string[] }>(res).repositories };
  };
  const tokenOf = (user: string, password = `${user}-password`) => registryToken(h.server, { user, password });

  before(async () => {
    h = await startHarness();
    const { server } = h;
    await createUser(server, 'alice');
    await createUser(server, 'bob');
    await server.cli('admin', 'create-repo', 'alice/mine', '--private');
    await server.cli('admin', 'create-repo', 'bob/secret', '--private');
    await server.cli('admin', 'create-repo', 'bob/shared', '--private');
    await server.cli('admin', 'create-repo', 'bob/open', '--public');
    await server.cli('admin', 'grant', 'bob/shared', 'alice', 'read');
    await server.cli('admin', 'create-org', 'acme', '--owner', 'bob');
    await server.cli('admin', 'create-repo', 'acme/internal', '--private');
  });
  after(async () => h?.stop());

  it('shows each caller only what it may pull', async () => {
    assert.deepEqual((await catalog(await tokenOf('alice'))).repositories, ['alice/mine', 'bob/open', 'bob/shared']);
    // bob administers acme through its owners team.
    assert.deepEqual((await catalog(await tokenOf('bob'))).repositories, ['acme/internal', 'bob/open', 'bob/secret', 'bob/shared']);
    assert.deepEqual((await catalog()).repositories, ['bob/open']);
  });

  it('shows a robot its granted repositories and the public ones', async () => {
    const token = (await h.server.cli('admin', 'create-robot', 'bob+reader')).split(/\s+/).pop()!;
    await h.server.cli('admin', 'grant', 'bob/secret', 'bob+reader', 'read');
    assert.deepEqual((await catalog(await tokenOf('bob+reader', token))).repositories, ['bob/open', 'bob/secret']);
  });

  it('pages with n and last and a Link header', async () => {
    const auth = await tokenOf('bob');
    const first = await catalog(auth, '?n=3');
    assert.deepEqual(first.repositories, ['acme/internal', 'bob/open', 'bob/secret']);
    assert.equal(first.res.headers.link, `</v2/_catalog?n=3&last=${encodeURIComponent('bob/secret')}>; rel="next"`);
    const second = await catalog(auth, `?n=3&last=${encodeURIComponent('bob/secret')}`);
    assert.deepEqual(second.repositories, ['bob/shared']);
    assert.equal(second.res.headers.link, undefined);
  });
});
