// Fan-out of build log lines to watchers, behind a small interface: in-process now, Redis or
// PostgreSQL LISTEN/NOTIFY across replicas later. Lines are published after they are stored,
// so a watcher that misses some can always catch up from the store by seq.
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
  /** Next message; resolves `{ kind: 'gap' }` when the subscriber fell behind and lines were dropped. */
  next(): Promise<LogMessage | { kind: 'gap' }>;
  close(): void;
}

export interface LogPubSub {
  publish(buildUuid: string, message: LogMessage): void;
  subscribe(buildUuid: string, opts?: { bufferSize?: number }): LogSubscription;
}

/** The in-process pub/sub: a bounded buffer per subscriber; overflow drops the buffer and reports a gap. */
export function createInProcessLogPubSub(): LogPubSub {
  const subscribers = new Map<string, Set<Subscriber>>();

  class Subscriber implements LogSubscription {
    private buffer: LogMessage[] = [];
    private overflowed = false;
    private waiter: ((m: LogMessage | { kind: 'gap' }) => void) | null = null;
    constructor(private readonly uuid: string, private readonly size: number) {}

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
      subscribers.get(this.uuid)?.delete(this);
      if (subscribers.get(this.uuid)?.size === 0) subscribers.delete(this.uuid);
    }
  }

  return {
    publish(uuid, message) {
      for (const s of subscribers.get(uuid) ?? []) s.push(message);
    },
    subscribe(uuid, opts = {}) {
      const s = new Subscriber(uuid, opts.bufferSize ?? 1000);
      let set = subscribers.get(uuid);
      if (!set) subscribers.set(uuid, (set = new Set()));
      set.add(s);
      return s;
    },
  };
}
