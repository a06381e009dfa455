// Build notification events with Quay's payloads (notifications/notificationevent.py), recorded
// in build_events in the transaction that makes them true. Delivery to notification methods comes later.
import type { Queryable } from '../src/db/index.js';
import type { Build } from './build-model.js';

export type BuildEventKind = 'build_queued' | 'build_start' | 'build_success' | 'build_failure' | 'build_cancelled';

/** How clients reach the registry, for `docker_url` and `homepage`. */
export interface EventSite {
  host: string;
  scheme: 'http' | 'https';
}

export interface BuildEventExtra {
  image_id?: string;
  manifest_digests?: string[];
  error_message?: string;
}

export function buildEventPayload(kind: BuildEventKind, build: Build, site: EventSite, extra: BuildEventExtra = {}): Record<string, unknown> {
  const full = `${build.namespace}/${build.repository}`;
  const base = {
    repository: full,
    namespace: build.namespace,
    name: build.repository,
    docker_url: `${site.host}/${full}`,
    homepage: `${site.scheme}://${site.host}/repository/${full}?tab=builds&build=${build.uuid}`,
  };
  const trigger = build.trigger ? { trigger_id: build.trigger.id, trigger_kind: build.trigger.kind, trigger_metadata: build.trigger.metadata } : {};
  if (kind === 'build_queued') {
    return {
      // A trigger's "run now" is manual too: it has both a trigger and the user who ran it.
      ...base, build_id: build.uuid, docker_tags: build.tags, repo: build.repository, is_manual: build.trigger === null || build.manualUser !== null,
      manual_user: build.manualUser, ...(build.trigger ? { ...trigger, trigger_manual: build.manualUser !== null } : {}),
    };
  }
  return {
    ...base, build_id: build.uuid, build_name: build.displayName, docker_tags: build.tags,
    trigger_id: build.trigger?.id ?? null, trigger_kind: build.trigger?.kind ?? null, trigger_metadata: build.trigger?.metadata ?? {},
    ...extra,
  };
}

export async function recordBuildEvent(db: Queryable, kind: BuildEventKind, build: Build, site: EventSite, extra?: BuildEventExtra): Promise<void> {
  await db('build_events').insert({
    build_uuid: build.uuid, kind, payload: JSON.stringify(buildEventPayload(kind, build, site, extra)), created_at: Date.now(),
  });
}

export async function listBuildEvents(db: Queryable, uuid: string): Promise<{ kind: BuildEventKind; payload: Record<string, unknown> }[]> {
  const rows = await db('build_events').where({ build_uuid: uuid }).orderBy('id');
  return rows.map((r: Record<string, unknown>) => ({ kind: r.kind as BuildEventKind, payload: JSON.parse(String(r.payload)) }));
}
