// Opens the pub/sub transport BUILD_MANAGER.PUBSUB names. A Redis that does not answer at start-up
// stops it with a message naming the key; later outages are ridden out by reconnecting.
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema.js';
import { ConfigError } from '../src/config/load.js';
import { createInProcessLogPubSub } from './log-pubsub.js';
import type { PubSubTransport } from './cluster-events.js';
import { openRedisPubSub } from './log-pubsub-redis.js';
import { openPostgresPubSub } from './log-pubsub-postgres.js';

export function inProcessTransport(): PubSubTransport {
  return { name: 'inprocess', logs: createInProcessLogPubSub(), cluster: null, close: async () => undefined };
}

/** Hides a password in a connection URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

export async function openPubSubTransport(config: Config, log: Logger): Promise<PubSubTransport> {
  const ps = config.BUILD_MANAGER.PUBSUB;
  switch (ps.TYPE) {
    case 'inprocess':
      return inProcessTransport();
    case 'redis':
      try {
        return await openRedisPubSub({
          url: ps.REDIS_URL, channelPrefix: ps.CHANNEL_PREFIX,
          onError: (err) => log.warn({ err }, 'the build pub/sub lost its Redis connection; reconnecting'),
        });
      } catch (err) {
        throw new ConfigError(`BUILD_MANAGER.PUBSUB.REDIS_URL: cannot reach Redis at ${redactUrl(ps.REDIS_URL)}: ${(err as Error).message}`);
      }
    case 'postgres':
      return openPostgresPubSub({
        connectionString: config.DB_URI, channelPrefix: ps.CHANNEL_PREFIX,
        onError: (err) => log.warn({ err }, 'the build pub/sub lost its PostgreSQL connection; reconnecting'),
      });
  }
}
