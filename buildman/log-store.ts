// Build log lines, stored with a per-build sequence number and then published. Appends to one
// build are serialized, so seq follows the order lines were produced, across retries too.
import { isUniqueViolation, type Db } from '../src/db/index.js';
import type { ExecutorLogLine } from '../executors/executor.js';
import type { LogPubSub, StoredLogLine } from './log-pubsub.js';

// Docker's `Step 2/5 : RUN …` and Podman/Buildah's `STEP 2/5: RUN …`.
const COMMAND_LINE = /^\s*(step\s+\d+\/\d+\s*:)/i;

/** Types a line as Quay does, and recognises Dockerfile steps from both builders. */
export function classifyLine(line: ExecutorLogLine): ExecutorLogLine {
  if (line.type === 'plain' && COMMAND_LINE.test(line.message)) return { ...line, type: 'command' };
  return line;
}

export interface LogStore {
  append(buildUuid: string, line: ExecutorLogLine): Promise<StoredLogLine>;
  /** Lines with seq ≥ start, in order. */
  read(buildUuid: string, start?: number, limit?: number): Promise<StoredLogLine[]>;
  count(buildUuid: string): Promise<number>;
  /** Tells watchers the build ended in `phase` (after its last line). */
  end(buildUuid: string, phase: string): void;
}

function fromRow(r: Record<string, unknown>): StoredLogLine {
  return {
    seq: Number(r.seq), type: r.type as StoredLogLine['type'], message: String(r.message),
    data: r.data == null ? null : (JSON.parse(String(r.data)) as Record<string, unknown>), datetime: Number(r.created_at),
  };
}

export function createLogStore(db: Db, pubsub: LogPubSub): LogStore {
  const nextSeq = new Map<string, number>();
  const chains = new Map<string, Promise<unknown>>();

  async function write(uuid: string, line: ExecutorLogLine, retried = false): Promise<StoredLogLine> {
    let seq = nextSeq.get(uuid);
    if (seq === undefined || retried) {
      const row = await db('build_logs').where({ build_uuid: uuid }).max({ m: 'seq' }).first();
      seq = row?.m == null ? 0 : Number(row.m) + 1;
    }
    const typed = classifyLine(line);
    const stored: StoredLogLine = { seq, type: typed.type, message: typed.message, data: typed.data ?? null, datetime: Date.now() };
    try {
      await db('build_logs').insert({
        build_uuid: uuid, seq, type: stored.type, message: stored.message, data: stored.data ? JSON.stringify(stored.data) : null, created_at: stored.datetime,
      });
    } catch (err) {
      // Another replica wrote lines of this build since (a retry ran there): continue after them.
      if (!retried && isUniqueViolation(err)) return write(uuid, line, true);
      throw err;
    }
    nextSeq.set(uuid, seq + 1);
    pubsub.publish(uuid, { kind: 'line', line: stored });
    return stored;
  }

  return {
    append(uuid, line) {
      const p = (chains.get(uuid) ?? Promise.resolve()).catch(() => undefined).then(() => write(uuid, line));
      chains.set(uuid, p);
      return p;
    },
    async read(uuid, start = 0, limit) {
      let q = db('build_logs').where({ build_uuid: uuid }).where('seq', '>=', start).orderBy('seq');
      if (limit !== undefined) q = q.limit(limit);
      return (await q).map(fromRow);
    },
    async count(uuid) {
      const row = await db('build_logs').where({ build_uuid: uuid }).count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },
    end(uuid, phase) {
      // After the last queued append, so `end` reaches watchers after every line.
      const p = (chains.get(uuid) ?? Promise.resolve()).catch(() => undefined).then(() => {
        pubsub.publish(uuid, { kind: 'end', phase });
        nextSeq.delete(uuid);
        if (chains.get(uuid) === p) chains.delete(uuid);
      });
      chains.set(uuid, p);
    },
  };
}
