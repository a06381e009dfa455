import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { sendFile } from '../../registry/api/send-file.js';
import type { PositionalFile } from '../../registry/storage/driver.js';

/** An in-memory PositionalFile that records its reads and its close, and can be told to fail. */
function memoryFile(data: Buffer, opts: { failAtRead?: number; endEarlyAt?: number; delayMs?: number } = {}) {
  const state = { reads: 0, closed: false };
  const file: PositionalFile = {
    async read(into, length, position) {
      state.reads++;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.failAtRead === state.reads) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      const limit = opts.endEarlyAt ?? data.length;
      return data.copy(into, 0, Math.min(position, limit), Math.min(position + length, limit));
    },
    async close() {
      state.closed = true;
    },
  };
  return { file, state };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error }));
    }).on('error', reject);
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('sendFile: blob bodies read into recycled buffers', () => {
  let app: FastifyInstance;
  let url: string;
  let current: ReturnType<typeof memoryFile>;
  let data: Buffer;
  const finished: number[] = [];

  before(async () => {
    app = Fastify();
    app.addHook('onResponse', async (_req, reply) => {
      finished.push(reply.statusCode);
    });
    app.get('/blob', async (req, reply) => {
      const range = req.headers.range ? { start: 1000, end: data.length - 1001 } : { start: 0, end: data.length - 1 };
      reply.code(req.headers.range ? 206 : 200).header('content-length', String(range.end - range.start + 1)).header('docker-content-digest', 'sha256:test');
      return sendFile(reply, current.file, range);
    });
    url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/blob`;
  });
  after(() => app.close());
  beforeEach(() => (finished.length = 0));

  it('sends every byte of a body many buffers long, with the headers set before, and closes the file', async () => {
    // Not a multiple of the 1 MiB buffer, so the last read is short; many responses in a row
    // reuse the pool, so a buffer given back too early would corrupt a later body.
    data = randomBytes(9 * (1 << 20) + 12_345);
    for (let i = 0; i < 3; i++) {
      current = memoryFile(data);
      const res = await get(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers['docker-content-digest'], 'sha256:test');
      assert.equal(res.headers['content-length'], String(data.length));
      assert.ok(res.body.equals(data), 'the body is the file, byte for byte');
      await until(() => current.state.closed, 'the file is closed');
    }
    await until(() => finished.length === 3, 'onResponse ran for each');
    assert.deepEqual(finished, [200, 200, 200]);
  });

  it('sends a range, concurrently with other responses', async () => {
    data = randomBytes(5 * (1 << 20) + 7);
    const files = [memoryFile(data), memoryFile(data), memoryFile(data)];
    const results = await Promise.all(files.map(async (f, i) => {
      current = f;
      return get(url, i === 1 ? { range: 'bytes=1000-' } : {});
    }));
    assert.equal(results[1]!.status, 206);
    assert.ok(results[1]!.body.equals(data.subarray(1000, data.length - 1000)));
    for (const i of [0, 2]) assert.ok(results[i]!.body.equals(data));
  });

  it('stops reading and closes the file when the client goes away mid-body', async () => {
    data = randomBytes(64 << 20);
    current = memoryFile(data, { delayMs: 5 });
    const file = current;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no data')), 5000);
    });
    await until(() => file.state.closed, 'the file is closed after the client left');
    const readsAtClose = file.state.reads;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(file.state.reads, readsAtClose, 'no read after the client left');
    assert.ok(readsAtClose < 64, `it stopped early (${readsAtClose} reads of 64)`);
  });

  it('cuts the connection on a read error, so the client sees a short body, not a wrong one', async () => {
    data = randomBytes(4 << 20);
    current = memoryFile(data, { failAtRead: 3 });
    const res = await get(url).catch((error: Error) => ({ error, body: Buffer.alloc(0) }));
    assert.ok(res.error, 'the client sees the connection fail');
    assert.ok(res.body.length < data.length);
    assert.ok(data.subarray(0, res.body.length).equals(res.body), 'what arrived is a true prefix');
    await until(() => current.state.closed, 'the file is closed');
  });

  it('cuts the connection when the file is shorter than the length promised', async () => {
    data = randomBytes(3 << 20);
    current = memoryFile(data, { endEarlyAt: (2 << 20) + 5 });
    const res = await get(url).catch((error: Error) => ({ error, body: Buffer.alloc(0) }));
    assert.ok(res.error, 'the client sees the connection fail');
    assert.ok(res.body.length <= (2 << 20) + 5);
    await until(() => current.state.closed, 'the file is closed');
  });
});
