// Quay's build view (endpoints/api/build.py), the shape every build answer takes.
import path from 'node:path';
import type { Build } from './build-model.js';

function rfc822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '-0000');
}

export function buildView(b: Build, opts: { isWriter: boolean }): Record<string, unknown> {
  const dockerfileFromRoot = path.posix.join(b.context || '/', b.dockerfilePath);
  return {
    id: b.uuid,
    phase: b.phase,
    started: rfc822(b.startedAt),
    display_name: b.displayName,
    status: {},
    subdirectory: path.posix.dirname(dockerfileFromRoot),
    dockerfile_path: dockerfileFromRoot,
    context: b.context || '/',
    tags: b.tags,
    manual_user: b.manualUser,
    is_writer: opts.isWriter,
    trigger: b.trigger ? { id: b.trigger.id, service: b.trigger.kind } : null,
    trigger_metadata: b.trigger?.metadata ?? null,
    resource_key: null,
    pull_robot: b.pullRobot ? { name: b.pullRobot, kind: 'user', is_robot: true } : null,
    repository: { namespace: b.namespace, name: b.repository },
    error: b.error,
    // A git source's clone URL may carry a token (https://TOKEN@host/…): never shown here.
    archive_url: b.source.kind === 'archive' ? (b.source.archiveUrl ?? null) : b.source.kind === 'archive_url' ? b.source.url : null,
    build_args: b.buildArgs,
    image_id: b.imageId,
    manifest_digests: b.manifestDigests,
    completed: b.completedAt === null ? null : rfc822(b.completedAt),
  };
}
