// The durable build queue. Every transition is one named operation in one transaction:
// enqueue → claimNext → (renewLease | setPhase)* → complete | fail | cancel, and requeueExpired /
// releaseOwner for workers that died. A queue row exists while the build still has to run or runs.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { isUniqueViolation, type Db, type Queryable, type Tx } from '../src/db/index.js';
import { conflict, notFound, tooMany } from '../src/errors.js';
import { buildQuery, buildFromRow, isFinal, stagingTag, type ActivePhase, type Build, type BuildSource, type BuildTrigger, type FinalPhase } from './build-model.js';
import { recordBuildEvent, type EventSite } from './build-events.js';

export interface BuildRequest {
  repositoryId: number;
  tags: string[];
  displayName: string;
  source: BuildSource;
  trigger?: BuildTrigger | null;
  manualUser?: string | null;
  pullRobot?: string | null;
  dockerfilePath: string;
  context: string;
  buildArgs?: Record<string, string>;
}

export interface Claim {
  build: Build;
  /** Failed runs so far (this run is attempt `attempts + 1`). */
  attempts: number;
  maxAttempts: number;
}

export type FailureKind = 'error' | 'internalerror';
/** What `fail` did: ended the build, or put it back in the queue for another attempt. */
export type FailResult = { final: true; phase: 'error' | 'internalerror' } | { final: false; attempts: number };

export interface QueueEvents {
  /** A build became claimable (enqueued or put back). */
  available: [uuid: string];
  /** A build was cancelled; its worker, wherever it runs, must stop it. */
  cancelled: [uuid: string];
  /** A build this queue ended on its own (its last attempt's worker died): its watchers must hear of it. */
  ended: [uuid: string, phase: FinalPhase];
}

export interface BuildQueueOptions {
  maxAttempts: number;
  /** Delay before a build that hit an internal error may run again. */
  retryDelayMs?: number;
  site: EventSite;
  now?: () => number;
  /**
   * Called in the transaction that ends a build (complete, error, internalerror, cancelled), on
   * whichever replica ends it: triggers count successive failures here.
   */
  onFinished?: (tx: Tx, build: Build) => Promise<void>;
  /** Builds one namespace may have waiting or running; enqueue refuses one more (429). */
  maxQueuedPerNamespace?: number;
  /** Sets an ended build's tags in the registry (the composition root hands in the registry's). */
  tags?: BuildTagPublisher;
}

/** What the registry does with an ended build's tags, in the transaction that ends it. */
export interface BuildTagPublisher {
  /**
   * `digest` set (the build completed): point every tag at it; then, whatever the outcome, end
   * the staging tag. Idempotent, so it may run again after a push that outlived a cancel.
   */
  settle(tx: Tx, ended: { repositoryId: number; stagingTag: string; tags: string[]; digest: string | null }): Promise<void>;
}

export interface BuildQueue {
  readonly events: EventEmitter<QueueEvents>;
  readonly db: Db;
  /** `also` runs in the enqueue transaction (a usage log entry that must land with the build). */
  enqueue(req: BuildRequest, also?: (tx: Tx, build: Build) => Promise<void>): Promise<Build>;
  claimNext(workerId: string, leaseMs: number): Promise<Claim | null>;
  /** False when the lease is no longer this worker's (cancelled, or lapsed and requeued): stop the build. */
  renewLease(uuid: string, workerId: string, leaseMs: number): Promise<boolean>;
  setPhase(uuid: string, workerId: string, phase: Exclude<ActivePhase, 'waiting' | 'build-scheduled'>): Promise<boolean>;
  complete(uuid: string, workerId: string, result: { imageId: string; manifestDigests: string[] }): Promise<boolean>;
  fail(uuid: string, workerId: string, kind: FailureKind, message: string): Promise<FailResult | null>;
  /** Gives a build back unfinished (this server is shutting down): waiting again, no attempt counted. */
  release(uuid: string, workerId: string): Promise<boolean>;
  requeueExpired(): Promise<number>;
  /** On start-up: the leases this worker id held before it was killed are lapsed by definition. */
  releaseOwner(workerId: string): Promise<number>;
  cancel(uuid: string): Promise<Build>;
  /** Settles an ended build's tags again: a push in flight when it was cancelled may land after. */
  resettleTags(uuid: string): Promise<void>;
  /** Builds waiting or running, for readiness and tests. */
  pending(): Promise<number>;
}

/** The advisory-lock class that serializes enqueues per namespace (the second key is the namespace id). */
const NAMESPACE_LIMIT_LOCK = 0x51a7;

function isPostgres(db: Db): boolean {
  return (db.client.config as { client?: string }).client === 'pg';
}

export function createBuildQueue(db: Db, opts: BuildQueueOptions): BuildQueue {
  const now = opts.now ?? Date.now;
  const events = new EventEmitter<QueueEvents>();
  const pg = isPostgres(db);
  const retryDelayMs = opts.retryDelayMs ?? 1000;

  const load = async (tx: Queryable, uuid: string): Promise<Build> => buildFromRow(await buildQuery(tx).where('b.uuid', uuid).first());
  const leased = (tx: Tx, uuid: string, workerId: string) => tx('build_queue').where({ build_uuid: uuid, lease_owner: workerId }).first();

  async function finish(tx: Tx, uuid: string, phase: FinalPhase, fields: Record<string, unknown> = {}): Promise<Build> {
    const t = now();
    await tx('build_queue').where({ build_uuid: uuid }).delete();
    await tx('builds').where({ uuid }).update({ phase, updated_at: t, completed_at: t, ...fields });
    const build = await load(tx, uuid);
    await settleTags(tx, build);
    await opts.onFinished?.(tx, build);
    return build;
  }

  async function settleTags(tx: Tx, build: Build): Promise<void> {
    const digest = build.phase === 'complete' ? (build.manifestDigests[0] ?? null) : null;
    await opts.tags?.settle(tx, { repositoryId: build.repositoryId, stagingTag: stagingTag(build.uuid), tags: build.tags, digest });
  }

  /** One failed run: another attempt, or the end as internalerror. */
  async function countFailure(tx: Tx, item: Record<string, unknown>, message: string): Promise<FailResult> {
    const uuid = String(item.build_uuid);
    const attempts = Number(item.attempts) + 1;
    if (attempts >= Number(item.max_attempts)) {
      const build = await finish(tx, uuid, 'internalerror', { error: message });
      await recordBuildEvent(tx, 'build_failure', build, opts.site, { error_message: message });
      return { final: true, phase: 'internalerror' };
    }
    await tx('build_queue').where({ build_uuid: uuid }).update({ attempts, lease_owner: null, lease_expires: null, available_after: now() + retryDelayMs });
    await tx('builds').where({ uuid }).update({ phase: 'waiting', error: message, updated_at: now() });
    return { final: false, attempts };
  }

  const queue: BuildQueue = {
    events,
    db,

    async enqueue(req, also) {
      const uuid = randomUUID();
      const t = now();
      const build = await db.transaction(async (tx) => {
        if (opts.maxQueuedPerNamespace !== undefined) await checkNamespaceLimit(tx, req.repositoryId, opts.maxQueuedPerNamespace);
        await tx('builds').insert({
          uuid, repository_id: req.repositoryId, phase: 'waiting', tags: JSON.stringify(req.tags), display_name: req.displayName,
          source: JSON.stringify(req.source), trigger_id: req.trigger?.id ?? null, trigger_kind: req.trigger?.kind ?? null,
          trigger_metadata: req.trigger ? JSON.stringify(req.trigger.metadata) : null, manual_user: req.manualUser ?? null,
          pull_robot: req.pullRobot ?? null, dockerfile_path: req.dockerfilePath, context: req.context,
          build_args: JSON.stringify(req.buildArgs ?? {}), started_at: t, updated_at: t,
        });
        await tx('build_queue').insert({ build_uuid: uuid, repository_id: req.repositoryId, enqueued_at: t, available_after: t, attempts: 0, max_attempts: opts.maxAttempts });
        const b = await load(tx, uuid);
        await recordBuildEvent(tx, 'build_queued', b, opts.site);
        await also?.(tx, b);
        return b;
      });
      events.emit('available', uuid);
      return build;
    },

    async claimNext(workerId, leaseMs) {
      // A replica that loses the race for a repository's one running slot (the partial unique
      // index of migration 008) tries again and finds that repository busy.
      for (let tries = 0; ; tries++) {
        try {
          return await claimOnce(workerId, leaseMs);
        } catch (err) {
          if (tries < 5 && isUniqueViolation(err)) continue;
          throw err;
        }
      }
    },

    async renewLease(uuid, workerId, leaseMs) {
      const n = await db('build_queue').where({ build_uuid: uuid, lease_owner: workerId }).update({ lease_expires: now() + leaseMs });
      return n === 1;
    },

    async setPhase(uuid, workerId, phase) {
      return db.transaction(async (tx) => {
        if (!(await leased(tx, uuid, workerId))) return false;
        await tx('builds').where({ uuid }).update({ phase, updated_at: now() });
        if (phase === 'building') await recordBuildEvent(tx, 'build_start', await load(tx, uuid), opts.site);
        return true;
      });
    },

    async complete(uuid, workerId, result) {
      return db.transaction(async (tx) => {
        if (!(await leased(tx, uuid, workerId))) return false;
        const build = await finish(tx, uuid, 'complete', { image_id: result.imageId, manifest_digests: JSON.stringify(result.manifestDigests), error: null });
        await recordBuildEvent(tx, 'build_success', build, opts.site, { image_id: result.imageId, manifest_digests: result.manifestDigests });
        return true;
      });
    },

    async fail(uuid, workerId, kind, message) {
      const result = await db.transaction(async (tx): Promise<FailResult | null> => {
        const item = await leased(tx, uuid, workerId);
        if (!item) return null;
        if (kind === 'internalerror') return countFailure(tx, item, message);
        // The build's own content failed: final at once, never retried.
        const build = await finish(tx, uuid, 'error', { error: message });
        await recordBuildEvent(tx, 'build_failure', build, opts.site, { error_message: message });
        return { final: true, phase: 'error' };
      });
      if (result && !result.final) availableLater(uuid);
      return result;
    },

    async release(uuid, workerId) {
      const released = await db.transaction(async (tx) => {
        if (!(await leased(tx, uuid, workerId))) return false;
        await tx('build_queue').where({ build_uuid: uuid }).update({ lease_owner: null, lease_expires: null, available_after: now() });
        await tx('builds').where({ uuid }).update({ phase: 'waiting', updated_at: now() });
        return true;
      });
      if (released) events.emit('available', uuid);
      return released;
    },

    async requeueExpired() {
      return requeueWhere((q) => q.whereNotNull('lease_owner').where('lease_expires', '<=', now()), 'the worker running the build stopped (its lease lapsed)');
    },

    async releaseOwner(workerId) {
      return requeueWhere((q) => q.where({ lease_owner: workerId }), 'the server running the build stopped');
    },

    async cancel(uuid) {
      const build = await db.transaction(async (tx) => {
        const row = await buildQuery(tx).where('b.uuid', uuid).first();
        if (!row) throw notFound(`no build ${uuid}`);
        const current = buildFromRow(row);
        if (isFinal(current.phase)) throw conflict(`the build has already ended (${current.phase})`);
        const ended = await finish(tx, uuid, 'cancelled');
        await recordBuildEvent(tx, 'build_cancelled', ended, opts.site);
        return ended;
      });
      events.emit('cancelled', uuid);
      return build;
    },

    async resettleTags(uuid) {
      await db.transaction(async (tx) => {
        const row = await buildQuery(tx).where('b.uuid', uuid).first();
        if (row && isFinal(row.phase)) await settleTags(tx, buildFromRow(row));
      });
    },

    async pending() {
      const row = await db('build_queue').count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },
  };

  async function checkNamespaceLimit(tx: Tx, repositoryId: number, max: number): Promise<void> {
    const repo = await tx('repositories').where({ id: repositoryId }).first('namespace_id');
    if (!repo) throw notFound(`no repository ${repositoryId}`);
    // Enqueues into one namespace take turns on PostgreSQL, so two racing cannot both take the last place.
    if (pg) await tx.raw('SELECT pg_advisory_xact_lock(?, ?)', [NAMESPACE_LIMIT_LOCK, Number(repo.namespace_id)]);
    const row = await tx('build_queue as q').join('repositories as r', 'r.id', 'q.repository_id').where('r.namespace_id', repo.namespace_id).count({ n: '*' }).first();
    const alive = Number(row?.n ?? 0);
    if (alive >= max) throw tooMany(`the namespace already has ${alive} builds waiting or running (the limit is ${max}); try again when one ends`);
  }

  /** The oldest available build of a repository with no build running. */
  function claimOnce(workerId: string, leaseMs: number): Promise<Claim | null> {
    return db.transaction(async (tx) => {
      const t = now();
      let q = tx('build_queue as q')
        .whereNull('q.lease_owner')
        .where('q.available_after', '<=', t)
        .whereNotExists((w) => w.select(tx.raw('1')).from('build_queue as r').whereRaw('r.repository_id = q.repository_id').whereNotNull('r.lease_owner'))
        .orderBy([{ column: 'q.available_after' }, { column: 'q.enqueued_at' }])
        .first('q.*');
      // Several replicas claim at once on PostgreSQL; SQLite has one writer, so the transaction alone suffices.
      if (pg) q = q.forUpdate().skipLocked();
      const item = await q;
      if (!item) return null;
      const uuid = String(item.build_uuid);
      await tx('build_queue').where({ build_uuid: uuid }).update({ lease_owner: workerId, lease_expires: t + leaseMs });
      await tx('builds').where({ uuid }).update({ phase: 'build-scheduled', updated_at: t });
      return { build: await load(tx, uuid), attempts: Number(item.attempts), maxAttempts: Number(item.max_attempts) };
    });
  }

  async function requeueWhere(filter: (q: ReturnType<Db>) => ReturnType<Db>, message: string): Promise<number> {
    const { count, requeued, ended } = await db.transaction(async (tx) => {
      let q = filter(tx('build_queue'));
      if (pg) q = q.forUpdate().skipLocked();
      const items: Record<string, unknown>[] = await q;
      let requeued = 0;
      const ended: { uuid: string; phase: FinalPhase }[] = [];
      for (const item of items) {
        const result = await countFailure(tx, item, message);
        if (result.final) ended.push({ uuid: String(item.build_uuid), phase: result.phase });
        else requeued++;
      }
      return { count: items.length, requeued, ended };
    });
    for (const e of ended) events.emit('ended', e.uuid, e.phase);
    if (requeued > 0) availableLater('*');
    return count;
  }

  /** A requeued build becomes claimable after the retry delay: wake the schedulers then, not only at the next sweep. */
  function availableLater(uuid: string): void {
    if (retryDelayMs <= 0) events.emit('available', uuid);
    else setTimeout(() => events.emit('available', uuid), retryDelayMs + 5).unref();
  }

  return queue;
}
