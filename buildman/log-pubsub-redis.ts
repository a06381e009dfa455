// The pub/sub across replicas over Redis: one connection publishes, one subscribes (a subscribed
// Redis connection can do nothing else). Each build's lines go to a channel of their own, which a
// replica subscribes to only while it has watchers of that build; queue events share one channel.
// A message is delivered to this replica's own watchers directly and sent to the others tagged
// with this replica's id, which the others use to skip their own messages.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createLocalFanout, type LogMessage } from './log-pubsub.js';
import { asClusterEvent, remoteTransport, type ClusterEvent, type PubSubTransport } from './cluster-events.js';

export interface RedisPubSubOptions {
  url: string;
  /** Namespaces the channels, so deployments (or test runs) can share one Redis. */
  channelPrefix: string;
  /** How long start-up waits for Redis to answer. */
  connectTimeoutMs?: number;
  /** Reports the first error of each outage (ioredis keeps reconnecting). */
  onError?: (err: Error) => void;
}

export async function openRedisPubSub(opts: RedisPubSubOptions): Promise<PubSubTransport> {
  const origin = randomUUID();
  const logChannel = (uuid: string) => `${opts.channelPrefix}:build-log:${uuid}`;
  const queueChannel = `${opts.channelPrefix}:build-queue`;
  const logPrefix = logChannel('');
  // During an outage a publish fails after two reconnect attempts instead of waiting to be sent late.
  const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
  // Named, so an operator's CLIENT LIST tells them apart.
  const pub = new Redis(opts.url, { ...options, connectionName: `${opts.channelPrefix}-build-pub` });
  const sub = new Redis(opts.url, { ...options, connectionName: `${opts.channelPrefix}-build-sub` });
  let connectedOnce = false;
  // Errors are retried by ioredis (reconnect with backoff); without a listener each would be thrown.
  let reported = false;
  const onError = (err: Error) => {
    if (reported || !connectedOnce) return;
    reported = true;
    opts.onError?.(err);
  };
  pub.on('error', onError);
  sub.on('error', onError);
  pub.on('ready', () => (reported = false));

  const handlers = new Set<(e: ClusterEvent) => void>();
  const fanout = createLocalFanout({
    async watch(uuid) {
      await sub.subscribe(logChannel(uuid));
    },
    unwatch(uuid) {
      sub.unsubscribe(logChannel(uuid)).catch(() => undefined);
    },
  });

  sub.on('message', (channel: string, text: string) => {
    let envelope: { f?: string; m?: unknown };
    try {
      envelope = JSON.parse(text) as { f?: string; m?: unknown };
    } catch {
      return;
    }
    if (envelope.f === origin) return;
    if (channel === queueChannel) {
      const e = asClusterEvent(envelope.m);
      if (e) for (const h of handlers) h(e);
    } else if (channel.startsWith(logPrefix)) {
      fanout.deliver(channel.slice(logPrefix.length), envelope.m as LogMessage);
    }
  });

  sub.on('ready', () => {
    // ioredis resubscribes on reconnect, right after 'ready': a PING answered after that says the
    // subscriptions hold. What was published meanwhile is lost, so watchers resync from the store
    // and schedulers look at the queue once.
    if (!connectedOnce) return;
    reported = false;
    sub.ping().then(() => {
      fanout.gapAll();
      for (const h of handlers) h({ kind: 'available', uuid: '*' });
    }, () => undefined);
  });

  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  try {
    await withTimeout(Promise.all([pub.connect(), sub.connect()]), timeoutMs, `Redis did not answer within ${timeoutMs} ms`);
    await sub.subscribe(queueChannel);
    connectedOnce = true;
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw err;
  }

  const send = (channel: string, m: unknown) => {
    // Fire and forget: a lost message is recovered from the store (lines) or by the sweep and lease checks (events).
    pub.publish(channel, JSON.stringify({ f: origin, m })).catch(() => undefined);
  };

  return remoteTransport({
    name: 'redis', fanout, handlers, logChannel, queueChannel, send,
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
