import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';
import { blobFile, createUser, filesUnder, request, startUpload, uploadFile, uploadIdOf, userToken } from './registry-client.js';

const MiB = 1 << 20;
const TOTAL_MIB = 200;
const FIRST_CHUNK_MIB = 64;

// Generated, never held whole: block i is one random MiB stamped with i, so no two blocks match.
const seed = randomBytes(MiB);
function block(i: number): Buffer {
  const b = Buffer.from(seed);
  b.writeUInt32BE(i, 0);
  return b;
}

/** MiB blocks [from, to); after `pauseAfter` blocks it waits for `resume` before going on. */
async function* blocks(from: number, to: number, pause?: { after: number; until: Promise<void> }): AsyncGenerator<Buffer> {
  for (let i = from; i < to; i++) {
    if (pause && i - from === pause.after) await pause.until;
    yield block(i);
  }
}

function expectedDigest(): string {
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL_MIB; i++) hash.update(block(i));
  return `sha256:${hash.digest('hex')}`;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A PATCH that streams blocks [from, to) as one chunk; resolves with how the request ended. */
function patch(server: TestServer, token: string, location: string, from: number, to: number, pause?: { after: number; until: Promise<void> }) {
  return new Promise<{ status?: number; error?: Error }>((resolve) => {
    const req = http.request(`${server.url}${location}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${token}`,
        'content-length': String((to - from) * MiB),
        'content-range': `${from * MiB}-${to * MiB - 1}`,
      },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (error) => resolve({ error }));
    Readable.from(blocks(from, to, pause)).on('error', (error) => resolve({ error })).pipe(req);
  });
}

describe(`an upload survives a server crash (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let token: string;
  after(async () => server?.stop());

  it('is resumed after SIGKILL mid-chunk, never serving a partial blob, and finishes with the right digest', async () => {
    server = await startServer();
    await createUser(server, 'carol');
    token = await userToken(server, 'carol', ['carol/big']);
    const digest = expectedDigest();
    const location = await startUpload(server, token, 'carol/big');
    const data = uploadFile(server, uploadIdOf(location));

    const first = await patch(server, token, location, 0, FIRST_CHUNK_MIB);
    assert.equal(first.status, 202);

    // The second chunk sends 16 MiB and stalls: the server is killed while it is writing it.
    let unstall!: () => void;
    const stalled = new Promise<void>((resolve) => (unstall = resolve));
    const second = patch(server, token, location, FIRST_CHUNK_MIB, TOTAL_MIB, { after: 16, until: stalled });
    await waitFor(() => statSync(data).size >= (FIRST_CHUNK_MIB + 8) * MiB, 'the second chunk to reach the disk');
    const during = await request(server, 'GET', `/v2/carol/big/blobs/${digest}`, { token });
    assert.equal(during.status, 404, 'no blob while the upload is in progress');
    await server.kill();
    unstall();
    assert.ok((await second).error, 'the interrupted PATCH got no answer');

    const leftover = statSync(data).size;
    assert.ok(leftover > FIRST_CHUNK_MIB * MiB, `the crash left an unacknowledged tail (${leftover} bytes)`);
    assert.equal(existsSync(blobFile(server, digest)), false);
    assert.deepEqual([...filesUnder(path.join(server.dataDir, 'storage', 'blobs')).keys()], []);

    await server.restart();
    const status = await request(server, 'GET', location, { token });
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, `0-${FIRST_CHUNK_MIB * MiB - 1}`, 'only the acknowledged chunk counts');
    const early = await request(server, 'GET', `/v2/carol/big/blobs/${digest}`, { token });
    assert.equal(early.status, 404);
    assert.equal(early.errors()[0]!.code, 'BLOB_UNKNOWN');

    const rest = await patch(server, token, location, FIRST_CHUNK_MIB, TOTAL_MIB);
    assert.equal(rest.status, 202);
    assert.equal(statSync(data).size, TOTAL_MIB * MiB, 'the tail was cut before the chunk was appended');
    const done = await request(server, 'PUT', `${location}?digest=${digest}`, { token });
    assert.equal(done.status, 201, done.body.toString());
    assert.equal(done.headers['docker-content-digest'], digest);
    assert.equal(statSync(blobFile(server, digest)).size, TOTAL_MIB * MiB);

    const hash = createHash('sha256');
    let size = 0;
    const got = await new Promise<number>((resolve, reject) => {
      http.get(`${server.url}/v2/carol/big/blobs/${digest}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve(res.statusCode!));
        res.on('error', reject);
      }).on('error', reject);
    });
    assert.equal(got, 200);
    assert.equal(size, TOTAL_MIB * MiB);
    assert.equal(`sha256:${hash.digest('hex')}`, digest);
  });

  it('lets a client that restarts an upload after a crash start from zero', async () => {
    await server.restart();
    const location = await startUpload(server, token, 'carol/big');
    let unstall!: () => void;
    const stalled = new Promise<void>((resolve) => (unstall = resolve));
    const first = patch(server, token, location, 0, 32, { after: 8, until: stalled });
    await waitFor(() => existsSync(uploadFile(server, uploadIdOf(location))) && statSync(uploadFile(server, uploadIdOf(location))).size >= 4 * MiB, 'bytes on disk');
    await server.kill();
    unstall();
    await first;
    await server.restart();
    const status = await request(server, 'GET', location, { token });
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, '0-0');
    const data = Buffer.concat([block(0), block(1)]);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const done = await request(server, 'PUT', `${location}?digest=${digest}`, { token, body: data, headers: { 'content-range': `0-${data.length - 1}` } });
    assert.equal(done.status, 201);
    assert.deepEqual((await request(server, 'GET', `/v2/carol/big/blobs/${digest}`, { token })).body, data);
  });
});
