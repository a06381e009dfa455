// Follows one build's log: the stored lines from `since`, then live lines, then the final phase.
// The pub/sub may drop lines for a slow follower; every gap is filled from the store by seq, so
// a watcher sees each line once and in order, and never slows the build down.
import type { Queryable } from '../src/db/index.js';
import { findBuild, isFinal } from './build-model.js';
import type { LogStore } from './log-store.js';
import type { LogPubSub, StoredLogLine } from './log-pubsub.js';

export type FollowItem = { kind: 'line'; line: StoredLogLine } | { kind: 'end'; phase: string };

export async function* followLog(
  db: Queryable, store: LogStore, pubsub: LogPubSub, uuid: string, since = 0, opts: { bufferSize?: number; signal?: AbortSignal } = {},
): AsyncGenerator<FollowItem> {
  // Subscribe before reading the store, so nothing written in between is missed.
  const sub = pubsub.subscribe(uuid, { bufferSize: opts.bufferSize });
  const onAbort = () => sub.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let next = since;
  async function* fromStore(): AsyncGenerator<FollowItem> {
    for (;;) {
      const batch = await store.read(uuid, next, 500);
      for (const line of batch) {
        next = line.seq + 1;
        yield { kind: 'line', line };
      }
      if (batch.length < 500) return;
    }
  }
  try {
    // A remote pub/sub subscribes asynchronously: only once it holds is the store read complete.
    await sub.ready;
    yield* fromStore();
    const build = await findBuild(db, uuid);
    if (!build || isFinal(build.phase)) {
      yield* fromStore();
      yield { kind: 'end', phase: build?.phase ?? 'unknown' };
      return;
    }
    // Set when a gap hid whether the end was sent and the row is already final (a transport
    // reconnected): the end normally follows at once; if it does not come, the row's phase is it.
    let endedAs: string | null = null;
    while (!opts.signal?.aborted) {
      const m = await Promise.race([sub.next(), abortPromise(opts.signal), ...(endedAs ? [delay(END_GRACE_MS)] : [])]);
      if (m === null) return;
      if (m === 'timeout') {
        yield* fromStore();
        yield { kind: 'end', phase: endedAs! };
        return;
      }
      if (m.kind === 'gap') {
        yield* fromStore();
        const now = await findBuild(db, uuid);
        if (!now || isFinal(now.phase)) endedAs = now?.phase ?? 'unknown';
      } else if (m.kind === 'line') {
        if (m.line.seq < next) continue;
        if (m.line.seq > next) yield* fromStore();
        else {
          next = m.line.seq + 1;
          yield m;
        }
      } else {
        yield* fromStore();
        yield { kind: 'end', phase: m.phase };
        return;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    sub.close();
  }
}

const END_GRACE_MS = 2000;

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

function abortPromise(signal?: AbortSignal): Promise<null> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
}
