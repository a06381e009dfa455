// Two real Slipway servers on one PostgreSQL database, over Redis and then over PostgreSQL
// LISTEN/NOTIFY, running their real Podman executors against a scripted Podman host. Replica A's
// one worker is held by a build that never ends, so every build started here runs on B; leases
// last an hour, so what happens within the test's timeout was carried by an event.
import assert from 'node:assert/strict';
import { TEST_DB } from '../support/server.js';
import { startScriptedPodman, type ScriptedPodman } from './fixtures/scripted-podman.js';
import { AUTH, buildPhase, startBuild, startReplicaServers, watch, type ReplicaServers, type StreamMessage } from './fixtures/replica-servers.js';

type Line = Extract<StreamMessage, { seq: number }>;
const isLine = (m: StreamMessage): m is Line => 'seq' in m;

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const kind of ['redis', 'postgres'] as const) {
  describe(`two Slipway servers over ${kind}: the WebSocket and the queue across replicas (${TEST_DB})`, function () {
    this.timeout(90_000);
    let podman: ScriptedPodman | null = null;
    let servers: ReplicaServers | null = null;
    before(async function () {
      if (TEST_DB !== 'postgres') return this.skip(); // two servers share one database, which only PostgreSQL serves; runs under SLIPWAY_TEST_DB=postgres
      podman = await startScriptedPodman();
      servers = await startReplicaServers(kind, podman);
    });
    after(async () => {
      await servers?.stop();
      await podman?.stop();
    });

    it('a build started through A, whose one worker is busy, starts on B at once', async () => {
      const { a } = servers!;
      const uuid = await startBuild(a, 'app');
      const build = await podman!.build(uuid);
      const logs = (await (await fetch(`${a.url}/api/v1/repository/alice/app/build/${uuid}/logs`, { headers: AUTH })).json()) as { logs: Line[] };
      const scheduled = logs.logs.find((l) => l.type === 'phase' && l.message === 'build-scheduled');
      assert.equal(scheduled?.data.executor, 'podman-replica-b');
      build.fail('done');
      await until('the build to end', async () => (await buildPhase(a, 'app', uuid)) === 'error');
    });

    it('a WebSocket watcher on A sees every line of the build B runs, live and in order, then the final phase', async () => {
      const { a, b } = servers!;
      const uuid = await startBuild(a, 'app');
      const build = await podman!.build(uuid);
      const w = watch(a, 'app', uuid);
      await w.opened;
      build.line('STEP 1/2: FROM scratch');
      for (let i = 0; i < 10; i++) build.line(`line ${i}`);
      // The rest is written only once A's watcher has the first half: it can only reach A live, through the transport.
      await until('the watcher to see line 9', () => w.messages.some((m) => isLine(m) && m.message === 'line 9'));
      for (let i = 10; i < 20; i++) build.line(`line ${i}`);
      build.fail('error: building at STEP "RUN false": exit status 1');
      assert.equal(await w.closed, 1000);
      const lines = w.messages.filter(isLine);
      assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i), 'every line once, in order');
      assert.deepEqual(lines.filter((l) => l.message.startsWith('line ')).map((l) => l.message), Array.from({ length: 20 }, (_, i) => `line ${i}`));
      assert.ok(lines.some((l) => l.type === 'command' && l.message === 'STEP 1/2: FROM scratch'));
      assert.ok(lines.some((l) => l.type === 'error' && l.message.includes('exit status 1')));
      assert.deepEqual(w.messages.at(-1), { phase: 'error', final: true });
      // What A streamed is exactly what B stored.
      const stored = (await (await fetch(`${b.url}/api/v1/repository/alice/app/build/${uuid}/logs`, { headers: AUTH })).json()) as { logs: Line[] };
      assert.deepEqual(lines.map((l) => l.message), stored.logs.map((l) => l.message));
    });

    it('cancel through A stops the build B runs at once: its Podman build request is aborted', async () => {
      const { a } = servers!;
      const uuid = await startBuild(a, 'app');
      const build = await podman!.build(uuid);
      build.line('STEP 1/2: RUN sleep 3600');
      const w = watch(a, 'app', uuid);
      await w.opened;
      const r = await fetch(`${a.url}/api/v1/repository/alice/app/build/${uuid}`, { method: 'DELETE', headers: AUTH });
      assert.equal(r.status, 201);
      await build.aborted;
      assert.equal(await buildPhase(a, 'app', uuid), 'cancelled');
      assert.equal(await w.closed, 1000);
      assert.deepEqual(w.messages.at(-1), { phase: 'cancelled', final: true });
    });
  });
}
