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
    yield* fromStore();
    const build = await findBuild(db, uuid);
    if (!build || isFinal(build.phase)) {
      yield* fromStore();
      yield { kind: 'end', phase: build?.phase ?? 'unknown' };
      return;
    }
    while (!opts.signal?.aborted) {
      const m = await Promise.race([sub.next(), abortPromise(opts.signal)]);
      if (m === null) return;
      if (m.kind === 'gap') {
        yield* fromStore();
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

function abortPromise(signal?: AbortSignal): Promise<null> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
}
