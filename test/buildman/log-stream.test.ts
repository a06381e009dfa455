import assert from 'node:assert/strict';
import { classifyLine } from '../../buildman/log-store.js';
import { createInProcessLogPubSub } from '../../buildman/log-pubsub.js';
import { followLog, type FollowItem } from '../../buildman/log-follow.js';
import { TEST_DB } from '../support/server.js';
import { ScriptedExecutor, OK } from './scripted-executor.js';
import { buildRequest, createManager, useManagerFixture } from './manager-harness.js';

describe(`buildman logs (${TEST_DB})`, () => {
  it('types Podman STEP and Docker Step lines as commands', () => {
    for (const msg of ['STEP 1/3: FROM alpine', 'Step 2/3 : RUN make', '  STEP 10/12: COPY . /src']) {
      assert.equal(classifyLine({ type: 'plain', message: msg }).type, 'command', msg);
    }
    for (const msg of ['stepping out', 'Successfully built 1234', '--> abc']) assert.equal(classifyLine({ type: 'plain', message: msg }).type, 'plain', msg);
    assert.equal(classifyLine({ type: 'error', message: 'STEP 1/1: boom' }).type, 'error');
  });

  it('a slow subscriber overflows its bounded buffer: it is told of the gap, the publisher never waits', async () => {
    const ps = createInProcessLogPubSub();
    const sub = ps.subscribe('b', { bufferSize: 3 });
    for (let seq = 0; seq < 10; seq++) ps.publish('b', { kind: 'line', line: { seq, type: 'plain', message: `l${seq}`, data: null, datetime: 0 } });
    ps.publish('b', { kind: 'end', phase: 'complete' });
    assert.deepEqual(await sub.next(), { kind: 'gap' });
    assert.deepEqual(await sub.next(), { kind: 'end', phase: 'complete' });
    sub.close();
  });

  describe('followLog', () => {
    const fx = useManagerFixture();

    it('replays from since, follows live lines (resyncing a slow follower from the store), then the final phase', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const many = Array.from({ length: 50 }, (_, i) => ({ log: { type: 'plain' as const, message: `line ${i}` } }));
      const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { wait: 100 }, ...many, { wait: 100 }], outcome: OK }));
      fx.m = createManager(fx.t.db, exec);
      const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
      await fx.m.logs.append(b.uuid, { type: 'plain', message: 'before start' });
      const got: FollowItem[] = [];
      // A tiny buffer and a slow consumer: lines are dropped from the pub/sub and fetched from the store.
      const follower = (async () => {
        for await (const item of followLog(fx.t.db, fx.m!.logs, fx.m!.pubsub, b.uuid, 0, { bufferSize: 2 })) {
          got.push(item);
          if (got.length === 5) await gate;
        }
      })();
      await fx.m.scheduler.start();
      setTimeout(release, 300);
      await follower;
      const lines = got.filter((i) => i.kind === 'line').map((i) => (i.kind === 'line' ? i.line : null)!);
      assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i), 'every line once, in order');
      assert.equal(lines[0]!.message, 'before start');
      assert.ok(lines.some((l) => l.message === 'line 49'));
      assert.deepEqual(got.at(-1), { kind: 'end', phase: 'complete' });
      // A late watcher from `since` gets the tail and the end at once.
      const late: FollowItem[] = [];
      for await (const item of followLog(fx.t.db, fx.m.logs, fx.m.pubsub, b.uuid, lines.length - 2)) late.push(item);
      assert.equal(late.length, 3);
      assert.deepEqual(late.at(-1), { kind: 'end', phase: 'complete' });
    });
  });
});
