// A registry token outlives a change of repository state: every /v2 write asks the state again.
import assert from 'node:assert/strict';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';
import { call, type Creds } from '../api/account-api.js';
import { pushTestImage } from '../api/repo-api.js';
import { createUser, pushBlob, request, sha256, startUpload, userToken, type Answer } from './registry-client.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe(`registry writes against the repository state (${TEST_DB})`, function () {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    await createUser(server, 'alice');
  });
  after(async () => server?.stop());

  const setState = async (repo: string, state: string) => {
    const res = await call(server, ALICE, 'PUT', `/repository/${repo}/changestate`, { state });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const tags = async (token: string, repo: string) => {
    const res = await request(server, 'GET', `/v2/${repo}/tags/list`, { token });
    assert.equal(res.status, 200, res.body.toString());
    return (JSON.parse(res.body.toString()) as { tags: string[] }).tags;
  };
  const assertReadOnly = (res: Answer, what: string, repo = 'alice/app') => {
    assert.equal(res.status, 405, `${what}: ${res.body.toString()}`);
    assert.deepEqual(res.errors().map((e) => [e.code, e.message]), [['UNSUPPORTED', `${repo} is in read-only mode`]], what);
  };
  const manifestFor = (configDigest: string, configSize: number, layerDigest: string, layerSize: number) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configSize },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layerSize }],
  }));

  it('refuses every write of a token issued before READ_ONLY, writes nothing, and keeps pulls working', async () => {
    const { digest: v1 } = await pushTestImage(server, ALICE, 'alice/app', 'v1');
    await pushTestImage(server, ALICE, 'alice/other', 'v1', { seed: 'elsewhere' });
    const token = await userToken(server, 'alice', ['alice/app', 'alice/other']);
    // Bytes known to the repository and to another one, before the state changes.
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const known = await pushBlob(server, token, 'alice/app', config);
    const foreign = Buffer.from('layer of alice/other:elsewhere');
    const session = await startUpload(server, token, 'alice/app');
    await setState('alice/app', 'READ_ONLY');

    const fresh = Buffer.from('never stored');
    assertReadOnly(await request(server, 'POST', '/v2/alice/app/blobs/uploads/', { token }), 'upload start');
    assertReadOnly(await request(server, 'POST', `/v2/alice/app/blobs/uploads/?digest=${sha256(fresh)}`, { token, body: fresh }), 'monolithic upload');
    assertReadOnly(await request(server, 'POST', `/v2/alice/app/blobs/uploads/?mount=${sha256(foreign)}&from=alice/other`, { token }), 'mount');
    assertReadOnly(await request(server, 'PATCH', session, { token, body: fresh }), 'chunk');
    assertReadOnly(await request(server, 'PUT', `${session}?digest=${sha256(fresh)}`, { token, body: fresh }), 'upload finish');
    assertReadOnly(await request(server, 'DELETE', session, { token }), 'upload cancel');
    const manifest = manifestFor(known, config.length, known, config.length);
    assertReadOnly(await request(server, 'PUT', '/v2/alice/app/manifests/v2', { token, body: manifest, headers: { 'content-type': OCI_MANIFEST } }), 'manifest PUT');
    assertReadOnly(await request(server, 'DELETE', '/v2/alice/app/manifests/v1', { token }), 'tag DELETE');
    assertReadOnly(await request(server, 'DELETE', `/v2/alice/app/manifests/${v1}`, { token }), 'manifest DELETE');
    assertReadOnly(await request(server, 'DELETE', `/v2/alice/app/blobs/${known}`, { token }), 'blob DELETE');

    // Nothing was written: no tag, no blob link, the old ones all there.
    assert.deepEqual(await tags(token, 'alice/app'), ['v1']);
    for (const absent of [fresh, foreign]) {
      assert.equal((await request(server, 'HEAD', `/v2/alice/app/blobs/${sha256(absent)}`, { token })).status, 404);
    }
    assert.equal((await request(server, 'HEAD', `/v2/alice/app/blobs/${known}`, { token })).status, 200);
    assert.equal((await request(server, 'GET', `/v2/alice/app/manifests/${v1}`, { token, headers: { accept: OCI_MANIFEST } })).status, 200);
    assert.equal((await request(server, 'GET', '/v2/alice/app/manifests/v1', { token, headers: { accept: OCI_MANIFEST } })).status, 200);
    assert.equal((await request(server, 'GET', session, { token })).status, 204, 'an upload’s status is a read');

    // Other repositories, in NORMAL state, still take the same token's pushes.
    assert.equal((await request(server, 'POST', '/v2/alice/other/blobs/uploads/', { token })).status, 202);

    await setState('alice/app', 'NORMAL');
    const put = await request(server, 'PUT', '/v2/alice/app/manifests/v2', { token, body: manifest, headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(put.status, 201, put.body.toString());
    assert.deepEqual(await tags(token, 'alice/app'), ['v1', 'v2']);
    assert.equal((await request(server, 'PATCH', session, { token, body: fresh })).status, 202, 'the session survived the read-only spell');
    assert.equal((await request(server, 'DELETE', '/v2/alice/app/manifests/v2', { token })).status, 202);
    assert.deepEqual(await tags(token, 'alice/app'), ['v1']);
  });

  it('still refuses push tokens at /v2/auth for a READ_ONLY repository, and Basic pushes with DENIED', async () => {
    await setState('alice/app', 'READ_ONLY');
    const token = await userToken(server, 'alice', ['alice/app']);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access: { actions: string[] }[] };
    assert.deepEqual(claims.access[0]!.actions, ['pull']);
    const viaBasic = await fetch(`${server.url}/v2/alice/app/blobs/uploads/`, {
      method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${ALICE.user}:${ALICE.password}`).toString('base64')}` },
    });
    assert.equal(viaBasic.status, 403);
    await setState('alice/app', 'NORMAL');
  });
});
