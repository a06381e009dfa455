import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';
import {
  blobFile, createUser, filesUnder, pushBlob, request, sha256, startUpload, uploadFile, uploadIdOf, userToken,
} from './registry-client.js';

describe(`registry blobs and uploads (${TEST_DB})`, function () {
  let server: TestServer;
  let alice: string;
  const uploadsDir = () => path.join(server.dataDir, 'storage', 'uploads');

  before(async () => {
    server = await startServer();
    await createUser(server, 'alice');
    await createUser(server, 'bob');
    alice = await userToken(server, 'alice', ['alice/app', 'alice/src', 'alice/dst', 'alice/other', 'bob/secret']);
  });
  after(async () => server?.stop());

  describe('monolithic upload', () => {
    it('stores the blob at its content address and serves it with GET and HEAD', async () => {
      const data = randomBytes(70_000);
      const digest = sha256(data);
      const res = await request(server, 'POST', `/v2/alice/app/blobs/uploads/?digest=${digest}`, { token: alice, body: data });
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, `/v2/alice/app/blobs/${digest}`);
      assert.equal(res.headers['docker-content-digest'], digest);
      assert.deepEqual(readFileSync(blobFile(server, digest)), data);
      assert.equal(filesUnder(uploadsDir()).size, 0, 'nothing left in the upload area');

      const got = await request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, data);
      assert.equal(got.headers['content-length'], String(data.length));
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers['docker-content-digest'], digest);
      assert.equal(got.headers.etag, `"${digest}"`);

      const head = await request(server, 'HEAD', `/v2/alice/app/blobs/${digest}`, { token: alice });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(data.length));
      assert.equal(head.headers['docker-content-digest'], digest);
      assert.equal(head.body.length, 0);
    });

    it('refuses a body that does not match the digest and keeps nothing', async () => {
      const data = randomBytes(1000);
      const claimed = sha256(Buffer.from('something else'));
      const res = await request(server, 'POST', `/v2/alice/app/blobs/uploads/?digest=${claimed}`, { token: alice, body: data });
      assert.equal(res.status, 400);
      assert.equal(res.errors()[0]!.code, 'DIGEST_INVALID');
      assert.equal(existsSync(blobFile(server, claimed)), false);
      assert.equal(existsSync(blobFile(server, sha256(data))), false);
      assert.equal(filesUnder(uploadsDir()).size, 0);
    });
  });

  describe('chunked upload', () => {
    it('takes three chunks (Content-Range, none, and the last one in the PUT) and reports progress', async () => {
      const parts = [randomBytes(100_000), randomBytes(50_000), randomBytes(1234)];
      const data = Buffer.concat(parts);
      const digest = sha256(data);
      const start = await request(server, 'POST', '/v2/alice/app/blobs/uploads/', { token: alice });
      assert.equal(start.status, 202);
      assert.equal(start.headers.range, '0-0');
      assert.equal(start.headers['content-length'], '0');
      const id = start.headers['docker-upload-uuid'] as string;
      assert.equal(start.headers.location, `/v2/alice/app/blobs/uploads/${id}`);

      let res = await request(server, 'PATCH', start.headers.location!, { token: alice, body: parts[0], headers: { 'content-range': '0-99999' } });
      assert.equal(res.status, 202);
      assert.equal(res.headers.range, '0-99999');
      assert.equal(res.headers.location, start.headers.location);
      res = await request(server, 'PATCH', res.headers.location!, { token: alice, body: parts[1] });
      assert.equal(res.status, 202);
      assert.equal(res.headers.range, '0-149999');
      assert.equal(statSync(uploadFile(server, id)).size, 150_000, 'chunks are on disk before they are acknowledged');

      const status = await request(server, 'GET', res.headers.location!, { token: alice });
      assert.equal(status.status, 204);
      assert.equal(status.headers.range, '0-149999');
      assert.equal(status.headers['docker-upload-uuid'], id);

      res = await request(server, 'PUT', `${res.headers.location}?digest=${digest}`, { token: alice, body: parts[2], headers: { 'content-range': '150000-151233' } });
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, `/v2/alice/app/blobs/${digest}`);
      assert.equal(res.headers['docker-content-digest'], digest);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice })).body, data);
      assert.equal((await request(server, 'GET', start.headers.location!, { token: alice })).status, 404, 'the finished upload is gone');
      assert.equal(existsSync(path.dirname(uploadFile(server, id))), false);
    });

    it('answers an out-of-order chunk with 416 and the current Range, then completes', async () => {
      const data = randomBytes(30_000);
      const digest = sha256(data);
      const loc = await startUpload(server, alice, 'alice/app');
      assert.equal((await request(server, 'PATCH', loc, { token: alice, body: data.subarray(0, 10_000), headers: { 'content-range': '0-9999' } })).status, 202);

      const wrong = await request(server, 'PATCH', loc, { token: alice, body: data.subarray(20_000), headers: { 'content-range': '20000-29999' } });
      assert.equal(wrong.status, 416);
      assert.equal(wrong.headers.range, '0-9999');
      assert.equal(wrong.headers.location, loc);
      assert.equal(wrong.errors()[0]!.code, 'BLOB_UPLOAD_INVALID');
      assert.equal(statSync(uploadFile(server, uploadIdOf(loc))).size, 10_000, 'the refused chunk wrote nothing');

      assert.equal((await request(server, 'PATCH', loc, { token: alice, body: data.subarray(10_000), headers: { 'content-range': '10000-29999' } })).status, 202);
      const done = await request(server, 'PUT', `${loc}?digest=${digest}`, { token: alice });
      assert.equal(done.status, 201);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice })).body, data);
    });

    it('refuses a wrong digest, drops the upload, and serves nothing', async () => {
      const data = randomBytes(5000);
      const claimed = sha256(randomBytes(5000));
      const loc = await startUpload(server, alice, 'alice/app');
      await request(server, 'PATCH', loc, { token: alice, body: data });
      const res = await request(server, 'PUT', `${loc}?digest=${claimed}`, { token: alice });
      assert.equal(res.status, 400);
      assert.equal(res.errors()[0]!.code, 'DIGEST_INVALID');
      for (const digest of [claimed, sha256(data)]) {
        const got = await request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice });
        assert.equal(got.status, 404);
        assert.equal(got.errors()[0]!.code, 'BLOB_UNKNOWN');
        assert.equal(existsSync(blobFile(server, digest)), false);
      }
      const status = await request(server, 'GET', loc, { token: alice });
      assert.equal(status.status, 404);
      assert.equal(status.errors()[0]!.code, 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(existsSync(path.dirname(uploadFile(server, uploadIdOf(loc)))), false);
    });

    it('refuses a digest that is not one (400 DIGEST_INVALID) and keeps the upload', async () => {
      const loc = await startUpload(server, alice, 'alice/app');
      await request(server, 'PATCH', loc, { token: alice, body: Buffer.from('abc') });
      for (const bad of ['', 'sha256:abc', 'md5:900150983cd24fb0d6963f7d28e17f72', `sha256:${'A'.repeat(64)}`]) {
        const res = await request(server, 'PUT', `${loc}?digest=${encodeURIComponent(bad)}`, { token: alice });
        assert.equal(res.status, 400, bad);
        assert.equal(res.errors()[0]!.code, 'DIGEST_INVALID');
      }
      assert.equal((await request(server, 'PUT', loc, { token: alice })).errors()[0]!.code, 'DIGEST_INVALID');
      assert.equal((await request(server, 'GET', '/v2/alice/app/blobs/sha256:nothex', { token: alice })).errors()[0]!.code, 'DIGEST_INVALID');
      const status = await request(server, 'GET', loc, { token: alice });
      assert.equal(status.status, 204);
      assert.equal(status.headers.range, '0-2');
      const done = await request(server, 'PUT', `${loc}?digest=${sha256(Buffer.from('abc'))}`, { token: alice });
      assert.equal(done.status, 201);
    });

    it('commits idempotently when the blob already exists', async () => {
      const data = randomBytes(2000);
      const digest = await pushBlob(server, alice, 'alice/app', data);
      const loc = await startUpload(server, alice, 'alice/other');
      const res = await request(server, 'PUT', `${loc}?digest=${digest}`, { token: alice, body: data });
      assert.equal(res.status, 201);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/other/blobs/${digest}`, { token: alice })).body, data);
    });
  });

  describe('upload ids', () => {
    it('answers 404 BLOB_UPLOAD_UNKNOWN for an unknown id, a malformed one, or another repository\'s', async () => {
      const foreign = await startUpload(server, alice, 'alice/other');
      const ids = ['3f1c2b7e-8d9a-4c1b-9e2f-0a1b2c3d4e5f', 'not-an-id', '3F1C2B7E-8D9A-4C1B-9E2F-0A1B2C3D4E5F', uploadIdOf(foreign)];
      for (const id of ids) {
        for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
          const query = method === 'PUT' ? `?digest=${sha256(Buffer.alloc(0))}` : '';
          const res = await request(server, method, `/v2/alice/app/blobs/uploads/${id}${query}`, { token: alice, body: method === 'PATCH' ? Buffer.from('x') : undefined });
          assert.equal(res.status, 404, `${method} ${id}`);
          assert.equal(res.errors()[0]!.code, 'BLOB_UPLOAD_UNKNOWN', `${method} ${id}`);
        }
      }
      assert.equal((await request(server, 'GET', foreign, { token: alice })).status, 204, 'the other repository\'s upload is untouched');
    });

    it('cancels an upload with DELETE', async () => {
      const loc = await startUpload(server, alice, 'alice/app');
      await request(server, 'PATCH', loc, { token: alice, body: randomBytes(100) });
      assert.equal(existsSync(uploadFile(server, uploadIdOf(loc))), true);
      const res = await request(server, 'DELETE', loc, { token: alice });
      assert.equal(res.status, 204);
      assert.equal(existsSync(path.dirname(uploadFile(server, uploadIdOf(loc)))), false);
      assert.equal((await request(server, 'GET', loc, { token: alice })).status, 404);
      assert.equal((await request(server, 'DELETE', loc, { token: alice })).status, 404);
    });
  });

  describe('request bodies', () => {
    it('takes bodies with no Content-Type and with application/json as raw bytes', async () => {
      const json = Buffer.from('{"not":"parsed", "spacing":  "kept"}');
      const loc = await startUpload(server, alice, 'alice/app');
      let res = await request(server, 'PATCH', loc, { token: alice, body: Buffer.from('raw bytes;') });
      assert.equal(res.status, 202);
      res = await request(server, 'PATCH', loc, { token: alice, body: json, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 202);
      const data = Buffer.concat([Buffer.from('raw bytes;'), json]);
      res = await request(server, 'PUT', `${loc}?digest=${sha256(data)}`, { token: alice, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 201);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/app/blobs/${sha256(data)}`, { token: alice })).body, data);

      const mono = Buffer.from('{"a":1}');
      res = await request(server, 'POST', `/v2/alice/app/blobs/uploads/?digest=${sha256(mono)}`, { token: alice, body: mono, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 201);
    });

    it('answers SIZE_INVALID when the body does not match its announced length, leaving the upload as it was', async () => {
      const loc = await startUpload(server, alice, 'alice/app');
      await request(server, 'PATCH', loc, { token: alice, body: Buffer.alloc(100, 1) });
      let res = await request(server, 'PATCH', loc, { token: alice, body: Buffer.alloc(50, 2), headers: { 'content-range': '100-199' } });
      assert.equal(res.status, 400);
      assert.equal(res.errors()[0]!.code, 'SIZE_INVALID');
      // Chunked transfer encoding: only the bytes received can tell.
      res = await request(server, 'PATCH', loc, { token: alice, body: Readable.from([Buffer.alloc(50, 2)]), headers: { 'content-range': '100-199' } });
      assert.equal(res.status, 400);
      assert.equal(res.errors()[0]!.code, 'SIZE_INVALID');
      assert.equal((await request(server, 'GET', loc, { token: alice })).headers.range, '0-99');
      assert.equal(statSync(uploadFile(server, uploadIdOf(loc))).size, 100);
    });

    it('drops a chunk whose body is cut short, and the upload carries on', async () => {
      const first = randomBytes(100);
      const loc = await startUpload(server, alice, 'alice/app');
      await request(server, 'PATCH', loc, { token: alice, body: first });
      const socket = net.connect(server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`PATCH ${loc} HTTP/1.1\r\nHost: ${server.host}\r\nAuthorization: Bearer ${alice}\r\nContent-Length: 100000\r\n\r\n`);
      socket.write(randomBytes(60_000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();

      const rest = randomBytes(300);
      // The next chunk waits for the broken one to be rolled back, then lands right after the first.
      const res = await request(server, 'PATCH', loc, { token: alice, body: rest, headers: { 'content-range': '100-399' } });
      assert.equal(res.status, 202);
      assert.equal(res.headers.range, '0-399');
      assert.equal(statSync(uploadFile(server, uploadIdOf(loc))).size, 400);
      const data = Buffer.concat([first, rest]);
      assert.equal((await request(server, 'PUT', `${loc}?digest=${sha256(data)}`, { token: alice })).status, 201);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/app/blobs/${sha256(data)}`, { token: alice })).body, data);
    });
  });

  describe('cross-repository mount', () => {
    it('mounts a blob from a repository the caller may pull', async () => {
      const data = randomBytes(4000);
      const digest = await pushBlob(server, alice, 'alice/src', data);
      assert.equal((await request(server, 'GET', `/v2/alice/dst/blobs/${digest}`, { token: alice })).status, 404);
      const res = await request(server, 'POST', `/v2/alice/dst/blobs/uploads/?mount=${digest}&from=alice/src`, { token: alice });
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, `/v2/alice/dst/blobs/${digest}`);
      assert.equal(res.headers['docker-content-digest'], digest);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/dst/blobs/${digest}`, { token: alice })).body, data);
    });

    it('opens a plain upload session instead when the caller may not pull the source', async () => {
      const bob = await userToken(server, 'bob', ['bob/secret']);
      const digest = await pushBlob(server, bob, 'bob/secret', randomBytes(4000));
      const res = await request(server, 'POST', `/v2/alice/dst/blobs/uploads/?mount=${digest}&from=bob/secret`, { token: alice });
      assert.equal(res.status, 202);
      assert.match(res.headers.location!, /^\/v2\/alice\/dst\/blobs\/uploads\/[0-9a-f-]{36}$/);
      assert.equal(res.headers.range, '0-0');
      assert.equal((await request(server, 'GET', res.headers.location!, { token: alice })).status, 204);
      const got = await request(server, 'GET', `/v2/alice/dst/blobs/${digest}`, { token: alice });
      assert.equal(got.status, 404);
      assert.equal(got.errors()[0]!.code, 'BLOB_UNKNOWN');
    });

    it('opens a session when the source does not have the blob', async () => {
      const digest = sha256(randomBytes(10));
      const res = await request(server, 'POST', `/v2/alice/dst/blobs/uploads/?mount=${digest}&from=alice/src`, { token: alice });
      assert.equal(res.status, 202);
    });
  });

  describe('reading and deleting blobs', () => {
    let data: Buffer;
    let digest: string;
    before(async () => {
      data = randomBytes(1000);
      digest = await pushBlob(server, alice, 'alice/app', data);
    });

    it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
      const get = (range: string) => request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice, headers: { range } });
      let res = await get('bytes=10-19');
      assert.equal(res.status, 206);
      assert.equal(res.headers['content-range'], 'bytes 10-19/1000');
      assert.equal(res.headers['content-length'], '10');
      assert.deepEqual(res.body, data.subarray(10, 20));
      res = await get('bytes=990-');
      assert.equal(res.status, 206);
      assert.deepEqual(res.body, data.subarray(990));
      res = await get('bytes=-5');
      assert.equal(res.headers['content-range'], 'bytes 995-999/1000');
      assert.deepEqual(res.body, data.subarray(995));
      res = await get('bytes=900-5000');
      assert.equal(res.headers['content-range'], 'bytes 900-999/1000');
      res = await get('bytes=1000-');
      assert.equal(res.status, 416);
      assert.equal(res.headers['content-range'], 'bytes */1000');
    });

    it('does not serve a blob through a repository that does not link it', async () => {
      const res = await request(server, 'GET', `/v2/alice/dst/blobs/${digest}`, { token: alice });
      assert.equal(res.status, 404);
      assert.equal(res.errors()[0]!.code, 'BLOB_UNKNOWN');
      assert.equal((await request(server, 'HEAD', `/v2/alice/dst/blobs/${digest}`, { token: alice })).status, 404);
    });

    it('unlinks a blob from one repository with DELETE and keeps it for the others', async () => {
      const mount = await request(server, 'POST', `/v2/alice/other/blobs/uploads/?mount=${digest}&from=alice/app`, { token: alice });
      assert.equal(mount.status, 201);
      const res = await request(server, 'DELETE', `/v2/alice/app/blobs/${digest}`, { token: alice });
      assert.equal(res.status, 202);
      assert.equal((await request(server, 'GET', `/v2/alice/app/blobs/${digest}`, { token: alice })).status, 404);
      assert.equal((await request(server, 'DELETE', `/v2/alice/app/blobs/${digest}`, { token: alice })).status, 404);
      assert.deepEqual((await request(server, 'GET', `/v2/alice/other/blobs/${digest}`, { token: alice })).body, data);
    });
  });
});
