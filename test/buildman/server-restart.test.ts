import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { basic, freePort, startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const FINAL = ['complete', 'error', 'internalerror', 'cancelled'];

describe(`build manager across a SIGKILL of the server (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer | null = null;
  let podman: Server | null = null;
  const sockets = new Set<Socket>();
  after(async () => {
    await server?.stop();
    for (const s of sockets) s.destroy();
    podman?.close();
  });

  it('with one worker, three builds (one running, two waiting) all reach a final phase after the restart', async () => {
    // A "Podman host" that accepts connections and never answers: a build stays running until it is closed.
    const port = await freePort();
    podman = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => podman!.listen(port, '127.0.0.1', r));
    server = await startServer({
      config: {
        FEATURE_BUILD_SUPPORT: true,
        BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1, LEASE_SECONDS: 5, MAX_ATTEMPTS: 3 },
        EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'hung', PODMAN_HOST: `tcp://127.0.0.1:${port}` }],
      },
    });
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await server.cli('admin', 'create-repo', 'alice/app');
    const headers = { authorization: basic(ALICE.user, ALICE.password) };
    const api = `${server.url}/api/v1/repository/alice/app/build`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const form = new FormData();
      form.append('file', new Blob(['FROM scratch\n']), 'Dockerfile');
      const r = await fetch(`${api}/`, { method: 'POST', headers, body: form });
      assert.equal(r.status, 201);
      ids.push(((await r.json()) as { id: string }).id);
    }
    const phases = async () => Promise.all(ids.map(async (id) => ((await (await fetch(`${api}/${id}`, { headers })).json()) as { phase: string }).phase));
    const before = await phases();
    assert.equal(before.filter((p) => p === 'build-scheduled').length, 1, `one runs: ${before}`);
    assert.equal(before.filter((p) => p === 'waiting').length, 2, `two wait: ${before}`);
    await server.kill();
    await server.restart();
    // The restarted server finds the build it ran and retries it; the hung host now goes away, so each attempt fails fast.
    for (const s of sockets) s.destroy();
    podman.close();
    const deadline = Date.now() + 60_000;
    let now = await phases();
    while (!now.every((p) => FINAL.includes(p)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await phases();
    }
    assert.deepEqual(now, ["internalerror", "internalerror", "internalerror"], `final phases: ${now}\n${server.output().slice(-3000)}`);
    // The killed run counted as an attempt of the first build: its log shows a second start.
    const logs = (await (await fetch(`${api}/${ids[0]}/logs`, { headers })).json()) as { logs: { type: string; message: string; data: { attempt?: number } }[] };
    const attempts = logs.logs.filter((l) => l.type === 'phase' && l.message === 'build-scheduled').map((l) => l.data.attempt);
    assert.deepEqual(attempts, [1, 2, 3]);
  });
});
