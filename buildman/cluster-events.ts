// The queue's two events carried between replicas. `available` wakes every scheduler, so a build
// enqueued on one replica starts at once on another with a free slot (not at its next sweep);
// `cancelled` reaches the replica running the build, which aborts it at once (not when its next
// lease renewal fails). A single process needs none of this: the queue's EventEmitter suffices.
import type { EventEmitter } from 'node:events';
import type { QueueEvents } from './queue.js';
import type { LocalFanout, LogPubSub } from './log-pubsub.js';

/** The queue events other replicas must hear of (`ended` reaches watchers through the log pub/sub). */
export type ClusterEventKind = Extract<keyof QueueEvents, 'available' | 'cancelled'>;
export interface ClusterEvent {
  kind: ClusterEventKind;
  uuid: string;
}

export interface ClusterEvents {
  /** Sends the event to every other replica (never back to this one). */
  publish(event: ClusterEvent): void;
  /** Events from other replicas; also a `{ kind: 'available', uuid: '*' }` after a reconnect, since some may have been lost. */
  onEvent(handler: (event: ClusterEvent) => void): () => void;
}

/** A pub/sub reaching other replicas: the log fan-out and the queue events over the same connections. */
export interface PubSubTransport {
  readonly name: 'inprocess' | 'redis' | 'postgres';
  logs: LogPubSub;
  /** Null for the in-process transport: there is no other replica to tell. */
  cluster: ClusterEvents | null;
  close(): Promise<void>;
}

const KINDS: readonly ClusterEventKind[] = ['available', 'cancelled'];

/** Checks an event that came off the wire; anything else (another version, garbage) is ignored. */
export function asClusterEvent(value: unknown): ClusterEvent | null {
  const v = (value ?? {}) as Partial<ClusterEvent>;
  return KINDS.includes(v.kind as ClusterEventKind) && typeof v.uuid === 'string' ? { kind: v.kind!, uuid: v.uuid } : null;
}

/**
 * Relays the queue's local events to other replicas and theirs into it, so the scheduler listens
 * to one EventEmitter whatever the deployment. Returns the function that stops relaying.
 */
export function bridgeQueueEvents(events: EventEmitter<QueueEvents>, cluster: ClusterEvents): () => void {
  // An event that came from another replica is emitted locally without being sent back out.
  let relaying = false;
  const outbound = (kind: ClusterEventKind) => (uuid: string) => {
    if (!relaying) cluster.publish({ kind, uuid });
  };
  const onAvailable = outbound('available');
  const onCancelled = outbound('cancelled');
  events.on('available', onAvailable);
  events.on('cancelled', onCancelled);
  const off = cluster.onEvent((e) => {
    relaying = true;
    try {
      events.emit(e.kind, e.uuid);
    } finally {
      relaying = false;
    }
  });
  return () => {
    off();
    events.off('available', onAvailable);
    events.off('cancelled', onCancelled);
  };
}

/**
 * The transport of a pub/sub that reaches other replicas (Redis, PostgreSQL): a log message goes
 * to this replica's own watchers at once and to the others through `send`; queue events only to
 * the others, whose `handlers` the transport's receiving side calls.
 */
export function remoteTransport(parts: {
  name: 'redis' | 'postgres';
  fanout: LocalFanout;
  handlers: Set<(e: ClusterEvent) => void>;
  logChannel(uuid: string): string;
  queueChannel: string;
  send(channel: string, message: unknown): void;
  close(): Promise<void>;
}): PubSubTransport {
  const { fanout, handlers, send } = parts;
  return {
    name: parts.name,
    logs: {
      publish(uuid, message) {
        fanout.deliver(uuid, message);
        send(parts.logChannel(uuid), message);
      },
      subscribe: (uuid, o) => fanout.subscribe(uuid, o),
    },
    cluster: {
      publish: (e) => send(parts.queueChannel, e),
      onEvent(handler) {
        handlers.add(handler);
        return () => handlers.delete(handler);
      },
    },
    async close() {
      handlers.clear();
      await parts.close();
    },
  };
}
