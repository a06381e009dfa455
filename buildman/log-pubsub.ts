// Fan-out of build log lines to watchers, behind a small interface: in-process by default, Redis
// (log-pubsub-redis.ts) or PostgreSQL LISTEN/NOTIFY (log-pubsub-postgres.ts) across replicas.
// Lines are published after they are stored, so a watcher that misses some can always catch up
// from the store by seq; every transport delivers into the same bounded local buffers below.
export interface StoredLogLine {
  seq: number;
  type: 'phase' | 'command' | 'error' | 'plain';
  message: string;
  data: Record<string, unknown> | null;
  /** Milliseconds since the epoch. */
  datetime: number;
}

export type LogMessage = { kind: 'line'; line: StoredLogLine } | { kind: 'end'; phase: string };

export interface LogSubscription {
  /**
   * Resolves once every message published from then on reaches this subscription. A remote
   * transport subscribes asynchronously: a follower awaits this before reading the store, so a
   * line or the end published in between cannot fall through.
   */
  readonly ready: Promise<void>;
  /** Next message; resolves `{ kind: 'gap' }` when the subscriber fell behind and lines were dropped. */
  next(): Promise<LogMessage | { kind: 'gap' }>;
  close(): void;
}

export interface LogPubSub {
  publish(buildUuid: string, message: LogMessage): void;
  subscribe(buildUuid: string, opts?: { bufferSize?: number }): LogSubscription;
}

class Subscriber implements LogSubscription {
  private buffer: LogMessage[] = [];
  private overflowed = false;
  private waiter: ((m: LogMessage | { kind: 'gap' }) => void) | null = null;
  constructor(readonly ready: Promise<void>, private readonly size: number, private readonly onClose: (s: Subscriber) => void) {}

  push(m: LogMessage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
      return;
    }
    if (m.kind === 'end') {
      // The end is never dropped: it tells the watcher to resync from the store and stop.
      this.buffer.push(m);
      return;
    }
    if (this.overflowed) return;
    if (this.buffer.length >= this.size) {
      this.buffer = this.buffer.filter((x) => x.kind === 'end');
      this.overflowed = true;
      return;
    }
    this.buffer.push(m);
  }

  /** Messages may have been lost upstream (a transport reconnected): the watcher resyncs from the store. */
  gap(): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w({ kind: 'gap' });
      return;
    }
    this.buffer = this.buffer.filter((x) => x.kind === 'end');
    this.overflowed = true;
  }

  next(): Promise<LogMessage | { kind: 'gap' }> {
    if (this.overflowed) {
      this.overflowed = false;
      return Promise.resolve({ kind: 'gap' });
    }
    const m = this.buffer.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.onClose(this);
  }
}

export interface FanoutHooks {
  /** The first local subscriber of a build arrived: start receiving its messages (resolves when that holds). */
  watch(buildUuid: string): Promise<void>;
  /** The last local subscriber of a build left. */
  unwatch(buildUuid: string): void;
}

/** The subscribers of this process, per build; a remote transport feeds it what it receives. */
export interface LocalFanout {
  /** `gap`: a message of this build could not be carried (too large for the transport); it is in the store. */
  deliver(buildUuid: string, message: LogMessage | { kind: 'gap' }): void;
  /** Tells every subscriber it may have missed messages. */
  gapAll(): void;
  subscribe(buildUuid: string, opts?: { bufferSize?: number }): LogSubscription;
  watched(): string[];
}

export function createLocalFanout(hooks: FanoutHooks | null): LocalFanout {
  const subscribers = new Map<string, { set: Set<Subscriber>; ready: Promise<void> }>();
  return {
    deliver(uuid, message) {
      for (const s of subscribers.get(uuid)?.set ?? []) {
        if (message.kind === 'gap') s.gap();
        else s.push(message);
      }
    },
    gapAll() {
      for (const { set } of subscribers.values()) for (const s of set) s.gap();
    },
    subscribe(uuid, opts = {}) {
      let entry = subscribers.get(uuid);
      if (!entry) {
        const ready = hooks ? hooks.watch(uuid) : Promise.resolve();
        // A failed watch surfaces through `ready`; never as an unhandled rejection.
        ready.catch(() => undefined);
        subscribers.set(uuid, (entry = { set: new Set(), ready }));
      }
      const s = new Subscriber(entry.ready, opts.bufferSize ?? 1000, (sub) => {
        const e = subscribers.get(uuid);
        if (!e || !e.set.delete(sub) || e.set.size > 0) return;
        subscribers.delete(uuid);
        hooks?.unwatch(uuid);
      });
      entry.set.add(s);
      return s;
    },
    watched: () => [...subscribers.keys()],
  };
}

/** The in-process pub/sub: a bounded buffer per subscriber; overflow drops the buffer and reports a gap. */
export function createInProcessLogPubSub(): LogPubSub {
  const fanout = createLocalFanout(null);
  return {
    publish: (uuid, message) => fanout.deliver(uuid, message),
    subscribe: (uuid, opts) => fanout.subscribe(uuid, opts),
  };
}
