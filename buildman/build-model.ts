// The build row and its phases, as the database holds them and the rest of buildman reads them.
import type { Queryable } from '../src/db/index.js';

export const ACTIVE_PHASES = ['waiting', 'build-scheduled', 'unpacking', 'pulling', 'building', 'pushing'] as const;
export const FINAL_PHASES = ['complete', 'error', 'internalerror', 'cancelled'] as const;
export type ActivePhase = (typeof ACTIVE_PHASES)[number];
export type FinalPhase = (typeof FINAL_PHASES)[number];
export type BuildPhase = ActivePhase | FinalPhase;

export function isFinal(phase: string): phase is FinalPhase {
  return (FINAL_PHASES as readonly string[]).includes(phase);
}

/**
 * Where the build context comes from: a checked tar on disk, a URL fetched when the build runs, or
 * one commit of a git repository, fetched when the build runs (builds started by triggers).
 */
export type BuildSource =
  | { kind: 'archive'; path: string; archiveUrl?: string }
  | { kind: 'archive_url'; url: string }
  | GitSource;

export interface GitSource {
  kind: 'git';
  /** Clone URL (ssh or https), as the trigger's build_source names it. */
  url: string;
  /** The full commit SHA to build. */
  commit: string;
  /** The ref pushed (`refs/heads/main`), when known. */
  ref?: string;
  /** The trigger whose deploy key fetches it. */
  triggerId: string;
}

/**
 * The tag an executor pushes the image to. The build's own tags are set from it only in the
 * transaction that completes the build, so a build that fails or is cancelled mid-push leaves
 * none of them behind; the staging tag itself is ended whatever the outcome.
 */
export function stagingTag(uuid: string): string {
  return `slipway-build-${uuid}`;
}

/** Fetching or reading the build's source failed because of the source itself (not retried). */
export class BuildSourceError extends Error {
  override name = 'BuildSourceError';
}

export interface BuildTrigger {
  id: string;
  kind: string;
  metadata: Record<string, unknown>;
}

export interface Build {
  uuid: string;
  repositoryId: number;
  namespace: string;
  repository: string;
  phase: BuildPhase;
  tags: string[];
  displayName: string;
  source: BuildSource;
  trigger: BuildTrigger | null;
  manualUser: string | null;
  pullRobot: string | null;
  dockerfilePath: string;
  context: string;
  buildArgs: Record<string, string>;
  error: string | null;
  imageId: string | null;
  manifestDigests: string[];
  startedAt: number;
  updatedAt: number;
  completedAt: number | null;
}

const json = <T>(v: unknown, fallback: T): T => (v == null ? fallback : (JSON.parse(String(v)) as T));

export function buildFromRow(row: Record<string, unknown>): Build {
  return {
    uuid: String(row.uuid),
    repositoryId: Number(row.repository_id),
    namespace: String(row.namespace),
    repository: String(row.repository),
    phase: row.phase as BuildPhase,
    tags: json(row.tags, []),
    displayName: String(row.display_name),
    source: json(row.source, { kind: 'archive', path: '' }),
    trigger: row.trigger_id ? { id: String(row.trigger_id), kind: String(row.trigger_kind), metadata: json(row.trigger_metadata, {}) } : null,
    manualUser: (row.manual_user as string | null) ?? null,
    pullRobot: (row.pull_robot as string | null) ?? null,
    dockerfilePath: String(row.dockerfile_path),
    context: String(row.context),
    buildArgs: json(row.build_args, {}),
    error: (row.error as string | null) ?? null,
    imageId: (row.image_id as string | null) ?? null,
    manifestDigests: json(row.manifest_digests, []),
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
    completedAt: row.completed_at == null ? null : Number(row.completed_at),
  };
}

/** Builds joined with their repository's namespace and name. */
export function buildQuery(db: Queryable) {
  return db('builds as b')
    .join('repositories as r', 'r.id', 'b.repository_id')
    .join('accounts as a', 'a.id', 'r.namespace_id')
    .select('b.*', 'a.name as namespace', 'r.name as repository');
}

export async function findBuild(db: Queryable, uuid: string): Promise<Build | null> {
  const row = await buildQuery(db).where('b.uuid', uuid).first();
  return row ? buildFromRow(row) : null;
}
