// One suite every LogPubSub transport passes. Each runs as two replicas: lines are published on
// one and watched on the other (for the in-process transport both are the same process).
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ClusterEvent, PubSubTransport } from '../../buildman/cluster-events.js';
import type { LogMessage, LogSubscription, StoredLogLine } from '../../buildman/log-pubsub.js';
import { freshPostgres, TEST_DB } from '../support/server.js';
import { openTransport, REDIS_URL, uniquePrefix, type TransportKind } from './fixtures/transports.js';
import { createLogStore } from '../../buildman/log-store.js';
import { followLog, type FollowItem } from '../../buildman/log-follow.js';
import { openTestDb, type TestDb } from './test-db.js';
import { OK, ScriptedExecutor } from './scripted-executor.js';
import { buildRequest, createManager, waitFor } from './manager-harness.js';

const line = (seq: number, message = `line ${seq}`): StoredLogLine => ({ seq, type: 'plain', message, data: null, datetime: 1_700_000_000_000 + seq });

type Received = LogMessage | { kind: 'gap' };

/** Resolves with the next message, or rejects naming what was awaited when none comes. */
function nextWithin(sub: LogSubscription, what: string, ms = 10_000): Promise<Received> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    sub.next(),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no message: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Collects messages until the end. */
async function untilEnd(sub: LogSubscription): Promise<Received[]> {
  const got: Received[] = [];
  for (;;) {
    const m = await nextWithin(sub, `message ${got.length}`);
    got.push(m);
    if (m.kind === 'end') return got;
  }
}

interface Replicas {
  a: PubSubTransport;
  b: PubSubTransport;
  /** Cuts the receiving connection of replica b at the server, as a network fault would. */
  cut?(): Promise<void>;
  close(): Promise<void>;
}

async function openReplicas(kind: TransportKind): Promise<Replicas> {
  const prefix = uniquePrefix();
  if (kind === 'inprocess') {
    const t = await openTransport(kind, prefix);
    return { a: t, b: t, close: () => t.close() };
  }
  if (kind === 'redis') {
    const a = await openTransport(kind, prefix);
    const b = await openTransport(kind, prefix);
    return {
      a, b,
      async cut() {
        // Both replicas share the prefix (and so the connection name): kill every subscriber of this run.
        const admin = new Redis(REDIS_URL);
        try {
          const list = String(await admin.client('LIST'));
          for (const row of list.split('\n')) {
            if (!row.includes(`name=${prefix}-build-sub`)) continue;
            await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(row)![1]!);
          }
        } finally {
          admin.disconnect();
        }
      },
      async close() {
        await a.close();
        await b.close();
      },
    };
  }
  const database = await freshPostgres();
  const a = await openTransport(kind, prefix, database.url);
  const b = await openTransport(kind, prefix, database.url);
  return {
    a, b,
    async cut() {
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`${prefix}-build-pubsub`]);
      } finally {
        await admin.end();
      }
    },
    async close() {
      await a.close();
      await b.close();
      await database.drop();
    },
  };
}

function pubsubSuite(kind: TransportKind): void {
  describe(`LogPubSub: ${kind}`, function () {
    this.timeout(30_000);
    let r: Replicas;
    before(function () {
      if (kind === 'postgres' && TEST_DB !== 'postgres') this.skip(); // LISTEN/NOTIFY needs PostgreSQL; it runs under SLIPWAY_TEST_DB=postgres
    });
    beforeEach(async () => {
      r = await openReplicas(kind);
    });
    afterEach(async () => {
      await r?.close();
    });

    it('delivers a build\'s lines in order, then its end, to a watcher on another replica', async () => {
      const sub = r.b.logs.subscribe('build-1');
      await sub.ready;
      for (let seq = 0; seq < 50; seq++) r.a.logs.publish('build-1', { kind: 'line', line: line(seq) });
      r.a.logs.publish('build-1', { kind: 'end', phase: 'complete' });
      const got = await untilEnd(sub);
      assert.deepEqual(got.slice(0, -1).map((m) => (m.kind === 'line' ? m.line : m)), Array.from({ length: 50 }, (_, i) => line(i)));
      assert.deepEqual(got.at(-1), { kind: 'end', phase: 'complete' });
      sub.close();
    });

    it('fans out to every watcher of a build and to none of another build', async () => {
      const subs = [r.a.logs.subscribe('build-1'), r.b.logs.subscribe('build-1'), r.b.logs.subscribe('build-1')];
      const other = r.b.logs.subscribe('build-2');
      await Promise.all([...subs, other].map((s) => s.ready));
      r.a.logs.publish('build-1', { kind: 'line', line: line(0, 'for build 1') });
      r.a.logs.publish('build-1', { kind: 'end', phase: 'error' });
      r.a.logs.publish('build-2', { kind: 'end', phase: 'cancelled' });
      for (const s of subs) assert.deepEqual(await untilEnd(s), [{ kind: 'line', line: line(0, 'for build 1') }, { kind: 'end', phase: 'error' }]);
      assert.deepEqual(await untilEnd(other), [{ kind: 'end', phase: 'cancelled' }], 'the other build\'s watcher sees only its own end');
      for (const s of [...subs, other]) s.close();
    });

    it('a slow watcher overflows its bounded buffer: it is told of the gap and still gets the end', async () => {
      const slow = r.b.logs.subscribe('build-1', { bufferSize: 5 });
      const fast = r.b.logs.subscribe('build-1');
      await Promise.all([slow.ready, fast.ready]);
      // Published without waiting for anyone: the publisher's side is synchronous and unbounded by watchers.
      for (let seq = 0; seq < 200; seq++) r.a.logs.publish('build-1', { kind: 'line', line: line(seq) });
      r.a.logs.publish('build-1', { kind: 'end', phase: 'complete' });
      // The slow watcher reads nothing until everything has reached its replica (the fast one saw the end).
      assert.equal((await untilEnd(fast)).length, 201);
      const got = await untilEnd(slow);
      assert.ok(got.some((m) => m.kind === 'gap'), 'a gap is reported');
      assert.ok(got.length <= 5 + 2, `at most the buffer, the gap and the end: ${got.length}`);
      slow.close();
      fast.close();
    });

    it('a line too large for the transport arrives whole or as a gap (then the store has it)', async () => {
      const sub = r.b.logs.subscribe('build-1');
      await sub.ready;
      const big = line(0, 'x'.repeat(100_000));
      r.a.logs.publish('build-1', { kind: 'line', line: big });
      r.a.logs.publish('build-1', { kind: 'line', line: line(1) });
      r.a.logs.publish('build-1', { kind: 'end', phase: 'complete' });
      const got = await untilEnd(sub);
      const first = got[0]!;
      assert.ok(first.kind === 'gap' || (first.kind === 'line' && first.line.message === big.message), `got ${first.kind}`);
      assert.deepEqual(got.slice(1), [{ kind: 'line', line: line(1) }, { kind: 'end', phase: 'complete' }]);
      sub.close();
    });

    it('a closed watcher receives nothing more; a new one receives what is published after it', async () => {
      const first = r.b.logs.subscribe('build-1');
      await first.ready;
      first.close();
      r.a.logs.publish('build-1', { kind: 'line', line: line(0) });
      const second = r.b.logs.subscribe('build-1');
      await second.ready;
      r.a.logs.publish('build-1', { kind: 'line', line: line(1) });
      r.a.logs.publish('build-1', { kind: 'end', phase: 'complete' });
      const got = await untilEnd(second);
      // Line 0 may still be in flight on a remote transport when the second watcher arrives, so it may or may not come.
      assert.deepEqual(got.filter((m) => !(m.kind === 'line' && m.line.seq === 0)), [{ kind: 'line', line: line(1) }, { kind: 'end', phase: 'complete' }]);
      second.close();
    });

    if (kind === 'inprocess') return;

    it('carries queue events to the other replica, never back to the sender', async () => {
      const atA: ClusterEvent[] = [];
      const atB: ClusterEvent[] = [];
      r.a.cluster!.onEvent((e) => atA.push(e));
      const seen = new Promise<void>((resolve) => r.b.cluster!.onEvent((e) => {
        atB.push(e);
        if (e.kind === 'cancelled') resolve();
      }));
      r.a.cluster!.publish({ kind: 'available', uuid: 'u1' });
      r.a.cluster!.publish({ kind: 'cancelled', uuid: 'u1' });
      await seen;
      assert.deepEqual(atB, [{ kind: 'available', uuid: 'u1' }, { kind: 'cancelled', uuid: 'u1' }]);
      // The sender's own events come back on its connection too; a round trip later they must have been dropped.
      const probe = new Promise<void>((resolve) => r.a.cluster!.onEvent((e) => e.uuid === 'probe' && resolve()));
      r.b.cluster!.publish({ kind: 'available', uuid: 'probe' });
      await probe;
      assert.deepEqual(atA, [{ kind: 'available', uuid: 'probe' }]);
    });

    it('after its connection is cut, a replica reconnects, tells watchers of a gap and wakes its scheduler', async () => {
      const sub = r.b.logs.subscribe('build-1');
      await sub.ready;
      // The cut reaches both replicas' receiving connections (they share a name); each reconnects on its own.
      const woken = [r.a, r.b].map((t) => new Promise<ClusterEvent>((resolve) => t.cluster!.onEvent(resolve)));
      await r.cut!();
      assert.deepEqual(await nextWithin(sub, 'the gap after reconnecting', 20_000), { kind: 'gap' });
      assert.deepEqual(await Promise.all(woken), [{ kind: 'available', uuid: '*' }, { kind: 'available', uuid: '*' }]);
      // The subscription was restored: what is published now arrives.
      r.a.logs.publish('build-1', { kind: 'end', phase: 'complete' });
      assert.deepEqual(await untilEnd(sub), [{ kind: 'end', phase: 'complete' }]);
      sub.close();
    });
  });
}

describe(`build log pub/sub transports (${TEST_DB})`, () => {
  for (const kind of ['inprocess', 'redis', 'postgres'] as const) pubsubSuite(kind);

  describe('followLog after a gap that swallowed the end', () => {
    let t: TestDb;
    beforeEach(async () => {
      t = await openTestDb();
    });
    afterEach(async () => {
      await t.close();
    });

    it('ends with the phase the build row holds when the end message never comes', async function () {
      this.timeout(20_000);
      const transport = await openTransport('inprocess', uniquePrefix());
      const m = createManager(t.db, new ScriptedExecutor(() => ({ steps: [], outcome: OK })));
      const logs = createLogStore(t.db, transport.logs);
      const b = await m.queue.enqueue(buildRequest(t.repositoryId));
      await logs.append(b.uuid, { type: 'plain', message: 'first' });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const got: FollowItem[] = [];
      const follower = (async () => {
        for await (const item of followLog(t.db, logs, transport.logs, b.uuid, 0, { bufferSize: 1 })) {
          got.push(item);
          // Stalls on the first live line, so what follows overflows its one-message buffer.
          if (item.kind === 'line' && item.line.message === 'second') await gate;
        }
      })();
      await waitFor('the follower to replay the stored line', async () => got.length === 1);
      await logs.append(b.uuid, { type: 'plain', message: 'second' });
      await waitFor('the follower to get the live line', async () => got.length === 2);
      // The build ends and its last lines overflow the stalled follower's buffer (a gap), but its
      // end is never published, as when a transport reconnects at that moment.
      await t.db('builds').where({ uuid: b.uuid }).update({ phase: 'internalerror' });
      for (const message of ['third', 'fourth']) await logs.append(b.uuid, { type: 'plain', message });
      release();
      await follower;
      assert.deepEqual(got.map((i) => (i.kind === 'line' ? i.line.message : i.phase)), ['first', 'second', 'third', 'fourth', 'internalerror']);
    });
  });
});
