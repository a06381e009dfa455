// The pub/sub across replicas over PostgreSQL LISTEN/NOTIFY, on one dedicated connection of its
// own (`pg` directly: a pooled knex connection cannot hold a LISTEN). One channel per watched
// build, LISTENed only while this replica has watchers of it, and one for queue events.
//
// NOTIFY carries at most 8000 bytes. A line is sent whole when it fits (nearly always: a build
// log line is short) and otherwise as a bare "gap" for its build; the watcher then reads the
// line from the store by seq, where it was written before it was published. Sending every line
// as a pointer instead would cost each watching replica one query per line.
//
// All NOTIFYs go through the one connection, so they leave in the order they were published; a
// lost connection is re-opened with backoff, LISTENs restored, and every watcher told of a gap.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createLocalFanout, type LogMessage } from './log-pubsub.js';
import { asClusterEvent, remoteTransport, type ClusterEvent, type PubSubTransport } from './cluster-events.js';

export interface PostgresPubSubOptions {
  connectionString: string;
  /** Namespaces the channels (lowercase letters, digits, `_`; at most 20 characters). */
  channelPrefix: string;
  /** Reports connection trouble (the transport keeps trying). */
  onError?: (err: Error) => void;
}

/** What NOTIFY accepts is < 8000 bytes; the envelope stays well below. */
export const NOTIFY_LIMIT = 7900;

export async function openPostgresPubSub(opts: PostgresPubSubOptions): Promise<PubSubTransport> {
  if (!/^[a-z0-9_]{1,20}$/.test(opts.channelPrefix)) throw new Error(`channel prefix ${JSON.stringify(opts.channelPrefix)}: use 1 to 20 of a-z, 0-9, _`);
  const origin = randomUUID();
  // Identifiers of at most 63 bytes: prefix (≤ 20) + `_log_` + 32 hex digits.
  const logChannel = (uuid: string) => `${opts.channelPrefix}_log_${uuid.replace(/-/g, '').toLowerCase()}`;
  const queueChannel = `${opts.channelPrefix}_queue`;
  const channelToBuild = new Map<string, string>();
  const handlers = new Set<(e: ClusterEvent) => void>();
  let client: pg.Client | null = null;
  // One query at a time on the connection (pg deprecates queueing on a client), in publish order.
  let chain: Promise<unknown> = Promise.resolve();
  const query = (text: string, values?: unknown[]): Promise<unknown> => {
    const c = client;
    if (!c) return Promise.resolve();
    const p = chain.then(() => c.query(text, values));
    chain = p.catch(() => undefined);
    return p;
  };
  let closed = false;
  let reconnectDelay = 250;

  const fanout = createLocalFanout({
    async watch(uuid) {
      const channel = logChannel(uuid);
      channelToBuild.set(channel, uuid);
      // While reconnecting, the LISTEN is restored with the others once the connection is back.
      await query(`LISTEN "${channel}"`);
    },
    unwatch(uuid) {
      const channel = logChannel(uuid);
      channelToBuild.delete(channel);
      query(`UNLISTEN "${channel}"`).catch(() => undefined);
    },
  });

  function onNotification(n: pg.Notification): void {
    if (!n.payload) return;
    let envelope: { f?: string; m?: unknown };
    try {
      envelope = JSON.parse(n.payload) as { f?: string; m?: unknown };
    } catch {
      return;
    }
    if (envelope.f === origin) return;
    if (n.channel === queueChannel) {
      const e = asClusterEvent(envelope.m);
      if (e) for (const h of handlers) h(e);
      return;
    }
    const uuid = channelToBuild.get(n.channel);
    if (uuid) fanout.deliver(uuid, envelope.m as LogMessage | { kind: 'gap' });
  }

  async function connect(): Promise<void> {
    // Named, so pg_stat_activity tells it apart from the pool's connections.
    const c = new pg.Client({ connectionString: opts.connectionString, application_name: `${opts.channelPrefix}-build-pubsub` });
    c.on('notification', onNotification);
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('the LISTEN connection ended')));
    try {
      await c.connect();
      await c.query(`LISTEN "${queueChannel}"`);
      for (const channel of channelToBuild.keys()) await c.query(`LISTEN "${channel}"`);
    } catch (err) {
      c.removeAllListeners('end');
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    chain = Promise.resolve();
  }

  function lost(c: pg.Client, err: Error): void {
    if (closed || client !== c) return;
    client = null;
    opts.onError?.(err);
    c.removeAllListeners('end');
    c.on('error', () => undefined);
    c.end().catch(() => undefined);
    const retry = () => {
      if (closed) return;
      connect().then(
        () => {
          reconnectDelay = 250;
          fanout.gapAll();
          for (const h of handlers) h({ kind: 'available', uuid: '*' });
        },
        (e: unknown) => {
          opts.onError?.(e as Error);
          reconnectDelay = Math.min(reconnectDelay * 2, 5000);
          setTimeout(retry, reconnectDelay).unref();
        },
      );
    };
    setTimeout(retry, reconnectDelay).unref();
  }

  await connect();

  function send(channel: string, m: unknown): void {
    let payload = JSON.stringify({ f: origin, m });
    if (Buffer.byteLength(payload) > NOTIFY_LIMIT) payload = JSON.stringify({ f: origin, m: { kind: 'gap' } });
    // Fire and forget: a lost message is recovered from the store (lines) or by the sweep and lease checks (events).
    query('SELECT pg_notify($1, $2)', [channel, payload]).catch(() => undefined);
  }

  return remoteTransport({
    name: 'postgres', fanout, handlers, logChannel, queueChannel, send,
    async close() {
      closed = true;
      const c = client;
      client = null;
      if (c) {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
      }
    },
  });
}
