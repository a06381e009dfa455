// `npm run bench`, builds: how long from a build being enqueued (its upload POSTed) to the executor
// starting it (the Podman host receiving its build request), and from a log line leaving the
// Podman host to a WebSocket watcher receiving it; p50 and p99. Measured on real servers with the
// real Podman executor against a scripted Podman host (its builds print what the benchmark says,
// stamped with this process's clock), for one server with the in-process pub/sub, and for two
// replicas on one PostgreSQL database over Redis and over LISTEN/NOTIFY, where the build is
// enqueued and watched through replica A and runs on replica B. One build at a time on an idle
// worker, so the figures are the path's own latency, not queueing.
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { createDb } from '../src/db/index.js';
import { freshPostgres, startServer, TEST_DB, type TestServer } from '../test/support/server.js';
import { startScriptedPodman, type ScriptedBuild, type ScriptedPodman } from '../test/buildman/fixtures/scripted-podman.js';
import { buildServerConfig, startBuild, startReplicaServers, watch, ALICE, type ServerTransport } from '../test/buildman/fixtures/replica-servers.js';

const BUILDS = Number(process.env.BENCH_BUILDS ?? 30);
const LINES_PER_BUILD = Number(process.env.BENCH_BUILD_LINES ?? 100);
/** Spacing of the timed lines: a steady trickle, as a build prints, not one burst. */
const LINE_GAP_MS = 5;

interface Samples {
  /** From the upload's POST being sent to the executor's build request reaching Podman. */
  postMs: number[];
  /** From the build row's commit (its enqueue time, stamped by the server) to the same. */
  startMs: number[];
  lineMs: number[];
}

interface Deployment {
  label: string;
  /** Where builds are enqueued and watched. */
  front: TestServer;
  /** The deployment's database, read for the enqueue time the server stamped on each build. */
  dbUri: string;
  stop(): Promise<void>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`build bench: timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** One server, in-process pub/sub, on the database SLIPWAY_TEST_DB names (SQLite by default). */
async function singleServer(podman: ScriptedPodman): Promise<Deployment> {
  const database = TEST_DB === 'postgres' ? await freshPostgres() : null;
  const config = buildServerConfig('single', podman, null, 'single-server-bench-secret'.padEnd(48, 'x'));
  const server = await startServer({ config, databaseUrl: database?.url });
  await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  await server.cli('admin', 'create-repo', 'alice/app');
  return {
    label: `in-process (1 server, ${TEST_DB})`, front: server, dbUri: database?.url ?? `sqlite:${path.join(server.dataDir, 'slipway.db')}`,
    async stop() {
      await server.stop();
      await database?.drop();
    },
  };
}

/** Two replicas on one PostgreSQL database: enqueued and watched on A, run on B. */
async function replicas(podman: ScriptedPodman, kind: ServerTransport): Promise<Deployment> {
  const servers = await startReplicaServers(kind, podman);
  return { label: `${kind} (2 replicas, postgres)`, front: servers.a, dbUri: servers.databaseUrl, stop: () => servers.stop() };
}

async function measure(d: Deployment, podman: ScriptedPodman): Promise<Samples> {
  const samples: Samples = { postMs: [], startMs: [], lineMs: [] };
  const db = createDb(d.dbUri);
  try {
    for (let i = 0; i < BUILDS; i++) await measureBuild(d, podman, db, samples);
  } finally {
    await db.destroy();
  }
  return samples;
}

async function measureBuild(d: Deployment, podman: ScriptedPodman, db: ReturnType<typeof createDb>, samples: Samples): Promise<void> {
  const postedAt = performance.now();
  const uuid = await startBuild(d.front, 'app');
  const build: ScriptedBuild = await podman.build(uuid);
  samples.postMs.push(build.receivedAt - postedAt);
  // Both clocks are this machine's: the server's Date.now() and this process's epoch-based performance clock.
  const row = await db('builds').where({ uuid }).first('started_at');
  samples.startMs.push(performance.timeOrigin + build.receivedAt - Number(row.started_at));
  const w = watch(d.front, 'app', uuid);
  w.onMessage = (m) => {
    if (!('seq' in m)) return;
    const stamp = /^bench (\d+(?:\.\d+)?)$/.exec(m.message);
    if (stamp) samples.lineMs.push(performance.now() - Number(stamp[1]));
  };
  await w.opened;
  // The watcher is live once a line written now reaches it; only then are lines timed.
  build.line('sync');
  await until('the watcher to go live', () => w.messages.some((m) => 'seq' in m && m.message === 'sync'));
  for (let n = 0; n < LINES_PER_BUILD; n++) {
    build.line(`bench ${performance.now()}`);
    await sleep(LINE_GAP_MS);
  }
  build.fail('benchmark build ends here');
  await w.closed;
}

function printTable(results: { label: string; samples: Samples }[]): void {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const rows: [string, (s: Samples) => number][] = [
    ['enqueue → executor starts the build, p50', (s) => percentile(s.startMs, 50)],
    ['enqueue → executor starts the build, p99', (s) => percentile(s.startMs, 99)],
    ['upload POST sent → executor starts it, p50', (s) => percentile(s.postMs, 50)],
    ['upload POST sent → executor starts it, p99', (s) => percentile(s.postMs, 99)],
    ['log line → WebSocket watcher, p50', (s) => percentile(s.lineMs, 50)],
    ['log line → WebSocket watcher, p99', (s) => percentile(s.lineMs, 99)],
  ];
  for (const r of results) {
    r.samples.startMs.sort((x, y) => x - y);
    r.samples.postMs.sort((x, y) => x - y);
    r.samples.lineMs.sort((x, y) => x - y);
  }
  const header = ['metric', 'unit', ...results.map((r) => r.label)];
  const lines = rows.map(([metric, f]) => [metric, 'ms', ...results.map((r) => fmt(f(r.samples)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  console.log('');
  for (const l of [header, ...lines]) console.log(l.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log(`\nbuilds: ${BUILDS} per column (one at a time), ${LINES_PER_BUILD} timed log lines each, ${LINE_GAP_MS} ms apart.`);
}

export async function benchBuilds(): Promise<void> {
  const podman = await startScriptedPodman();
  const results: { label: string; samples: Samples }[] = [];
  try {
    const setups: [string, () => Promise<Deployment>][] = [
      ['in-process', () => singleServer(podman)],
      ['redis', () => replicas(podman, 'redis')],
      ['postgres', () => replicas(podman, 'postgres')],
    ];
    for (const [name, open] of setups) {
      process.stderr.write(`builds (${name}): ${BUILDS} builds, each until the executor starts it, ${LINES_PER_BUILD} log lines to a WebSocket…\n`);
      const d = await open();
      try {
        results.push({ label: d.label, samples: await measure(d, podman) });
      } finally {
        await d.stop();
      }
    }
  } finally {
    await podman.stop();
  }
  printTable(results);
}

// `node dist/bench/build-bench.js` runs this part alone (npm run bench runs it after the others).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchBuilds().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
