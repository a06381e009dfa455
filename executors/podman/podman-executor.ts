// Runs a build in Podman through its Docker-compatible API (dockerode): POST /build with the
// context tar, tag, push every tag with the job's short-lived push credentials.
//
// Facts about Podman 4.3's API that shape this file (checked against a real service):
// - The build pulls its base images itself; X-Registry-Config (`registryconfig`) carries the
//   credentials for our registry, so private base images work.
// - `labels` is applied to every image the build commits (intermediate ones too) and shows up as
//   an extra final `LABEL` step (`STEP 3/3: LABEL "io.slipway.build"=…`).
// - Closing the HTTP request cancels the build's context: it stops at the next step boundary, but
//   a `RUN` that is running runs to its end, and its buildah working container (an "external"
//   container, seen only by the libpod API with `external=true`) is left behind. Removing it
//   (DELETE /libpod/containers/{id}?force=true) is what cleans up.
// - `forcerm=true` removes the working containers of a failed build; without it they stay.
import { createReadStream, statSync } from 'node:fs';
import Docker from 'dockerode';
import type { Executor, ExecutorEvents, ExecutorJob, ExecutorLogLine, ExecutorOutcome, RegistryCredentials } from '../executor.js';
import { connectionOptions, type PodmanExecutorOptions } from './config.js';
import { JsonLineSplitter, progressToLines, type ProgressMessage } from './log-parse.js';

export const BUILD_LABEL = 'io.slipway.build';

/** A failure of the Podman host or the API (not of the build's content): internalerror. */
class HostError extends Error {}
/** The build failed because of what it builds: error. */
class BuildError extends Error {}
class Cancelled extends Error {}

interface ExternalContainer {
  Id: string;
  Image?: string;
  ImageID?: string;
  Created?: string;
  Names?: string[];
}

/** Adds `:latest` to a reference without a tag or digest. */
function normalizeRef(ref: string): string {
  const lastSlash = ref.lastIndexOf('/');
  const name = ref.slice(lastSlash + 1);
  if (name.includes('@') || name.includes(':')) return ref;
  return `${ref}:latest`;
}

function authFor(creds: RegistryCredentials, host: string) {
  return { username: creds.username, password: creds.password, serveraddress: host };
}

export function createPodmanExecutor(opts: PodmanExecutorOptions): Executor {
  const docker = new Docker(connectionOptions(opts.podmanHost) as Docker.DockerOptions);
  const debug = opts.debug ?? false;

  /** A raw call to the API (the libpod endpoints dockerode does not know). */
  const dial = <T>(method: string, path: string, options: Record<string, unknown> = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      docker.modem.dial({ path: `${path}?`, method, options, statusCodes: { 200: true, 204: true, 404: 'not found', 409: 'conflict', 500: 'server error' } }, (err: unknown, data: unknown) =>
        err ? reject(err) : resolve(data as T),
      );
    });

  const ping = async (): Promise<boolean> => {
    try {
      const r = await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), 5000).unref())]);
      return String(r).trim() === 'OK';
    } catch {
      return false;
    }
  };

  /** Follows a progress stream to its end, handing every message to `each`. */
  const follow = (stream: NodeJS.ReadableStream, each: (m: ProgressMessage) => void): Promise<void> =>
    new Promise((resolve, reject) => {
      const splitter = new JsonLineSplitter();
      stream.setEncoding?.('utf8');
      stream.on('data', (chunk: string | Buffer) => {
        for (const m of splitter.push(String(chunk))) each(m);
      });
      stream.on('end', () => {
        for (const m of splitter.end()) each(m);
        resolve();
      });
      stream.on('error', reject);
      stream.on('close', () => {
        for (const m of splitter.end()) each(m);
        resolve();
      });
    });

  /**
   * Removes what a build left: buildah working containers started from this build's images or
   * from its base images during the build, then the images labelled with the build's id.
   */
  const cleanup = async (buildId: string, since: number, baseRefs: Set<string>, removeImages: boolean): Promise<void> => {
    let ours: Docker.ImageInfo[] = [];
    try {
      ours = await docker.listImages({ all: true, filters: JSON.stringify({ label: [`${BUILD_LABEL}=${buildId}`] }) } as Docker.ListImagesOptions);
    } catch {
      // the host is gone: nothing to clean
      return;
    }
    const ourIds = new Set(ours.map((i) => i.Id.replace(/^sha256:/, '')));
    let external: ExternalContainer[] = [];
    try {
      external = (await dial<ExternalContainer[]>('GET', '/v4.0.0/libpod/containers/json', { all: true, external: true })) ?? [];
    } catch {
      external = [];
    }
    for (const c of external) {
      const fromOurs = c.ImageID !== undefined && ourIds.has(c.ImageID.replace(/^sha256:/, ''));
      const created = c.Created ? Date.parse(c.Created) : 0;
      const fromBase = c.Image !== undefined && baseRefs.has(normalizeRef(c.Image)) && created >= since - 1000;
      if (!fromOurs && !fromBase) continue;
      try {
        await dial('DELETE', `/v4.0.0/libpod/containers/${c.Id}`, { force: true });
      } catch {
        // already gone
      }
    }
    if (!removeImages) return;
    // Children before parents: repeat while something could be removed.
    let left = ours.map((i) => i.Id);
    for (let pass = 0; pass < 5 && left.length > 0; pass++) {
      const still: string[] = [];
      for (const id of left) {
        try {
          await docker.getImage(id).remove({ force: true });
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 404) still.push(id);
        }
      }
      if (still.length === left.length) break;
      left = still;
    }
  };

  /** The digest the registry gave the pushed manifest, asked of the registry itself. */
  const registryDigest = async (job: ExecutorJob, tag: string): Promise<string | undefined> => {
    const base = `${job.registry.insecure ? 'http' : 'https'}://${job.registry.host}`;
    const url = `${base}/v2/${job.repository}/manifests/${encodeURIComponent(tag)}`;
    const accept = [
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
    ].join(', ');
    let res = await fetch(url, { method: 'HEAD', headers: { accept } });
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      if (!params.realm) return undefined;
      const qs = new URLSearchParams({ service: params.service ?? job.registry.host, scope: `repository:${job.repository}:pull` });
      const basic = Buffer.from(`${job.pushCredentials.username}:${job.pushCredentials.password}`).toString('base64');
      const tr = await fetch(`${params.realm}?${qs}`, { headers: { authorization: `Basic ${basic}` } });
      if (!tr.ok) return undefined;
      const body = (await tr.json()) as { token?: string; access_token?: string };
      res = await fetch(url, { method: 'HEAD', headers: { accept, authorization: `Bearer ${body.token ?? body.access_token}` } });
    }
    return res.ok ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  };

  const run = async (job: ExecutorJob, events: ExecutorEvents, signal: AbortSignal): Promise<ExecutorOutcome> => {
    const started = Date.now();
    const baseRefs = new Set<string>();
    const log = (line: ExecutorLogLine) => events.log(line);
    const checkCancelled = () => {
      if (signal.aborted) throw new Cancelled();
    };
    const target = `${job.registry.host}/${job.repository}`;
    const [firstTag, ...otherTags] = job.tags.length > 0 ? job.tags : ['latest'];
    let building = false;

    try {
      checkCancelled();
      if (!(await ping())) throw new HostError(`the Podman service at ${opts.podmanHost} does not answer`);

      events.phase('unpacking');
      try {
        const st = statSync(job.contextTar);
        log({ type: 'plain', message: `build context: ${st.size} bytes, Dockerfile ${job.dockerfilePath}` });
      } catch (err) {
        throw new HostError(`cannot read the build context ${job.contextTar}: ${(err as Error).message}`);
      }
      checkCancelled();

      // Base images are pulled by the build itself (pull=true, with X-Registry-Config for our
      // registry); here only the previous build's image is primed as cache, best effort.
      events.phase('pulling');
      for (const ref of job.cacheFrom) {
        checkCancelled();
        try {
          const onOurs = ref.startsWith(`${job.registry.host}/`);
          // The previous build of this repository is readable with the push credentials.
          const creds = ref.startsWith(`${target}:`) || ref.startsWith(`${target}@`) ? job.pushCredentials : job.pullCredentials;
          const stream = await docker.pull(ref, {
            ...(onOurs && creds ? { authconfig: authFor(creds, job.registry.host) } : {}),
            ...(onOurs && job.registry.insecure ? { tlsVerify: false } : {}),
            abortSignal: signal,
          } as object);
          let pullError: string | undefined;
          await follow(stream, (m) => {
            if (m.errorDetail || m.error) pullError ??= m.errorDetail?.message ?? m.error;
          });
          log({ type: 'plain', message: pullError ? `cache image ${ref} not available: ${pullError.trim()}` : `cache image ${ref} pulled` });
        } catch (err) {
          if (signal.aborted) throw new Cancelled();
          log({ type: 'plain', message: `cache image ${ref} not available: ${(err as Error).message}` });
        }
      }
      checkCancelled();

      events.phase('building');
      building = true;
      const registryconfig: Record<string, { username: string; password: string }> = {};
      if (job.pullCredentials) registryconfig[job.registry.host] = { username: job.pullCredentials.username, password: job.pullCredentials.password };
      let buildStream: NodeJS.ReadableStream;
      try {
        buildStream = await docker.buildImage(createReadStream(job.contextTar), {
          t: `${target}:${firstTag}`,
          dockerfile: job.dockerfilePath,
          buildargs: JSON.stringify(job.buildArgs ?? {}),
          labels: JSON.stringify({ [BUILD_LABEL]: job.buildId }),
          cachefrom: job.cacheFrom,
          pull: true,
          rm: true,
          forcerm: !debug,
          ...(Object.keys(registryconfig).length > 0 ? { registryconfig } : {}),
          abortSignal: signal,
        } as unknown as Docker.ImageBuildOptions);
      } catch (err) {
        if (signal.aborted) throw new Cancelled();
        throw new HostError(`the build request failed: ${(err as Error).message}`);
      }
      let imageId: string | undefined;
      let buildError: string | undefined;
      try {
        await follow(buildStream, (m) => {
          if (m.aux?.ID) imageId = m.aux.ID;
          for (const line of progressToLines(m)) {
            if (line.type === 'error') buildError ??= line.message;
            if (line.type === 'command') {
              const from = /^FROM\s+(\S+)/i.exec(String(line.data?.command ?? ''));
              if (from) baseRefs.add(normalizeRef(from[1]!));
            }
            log(line);
          }
        });
      } catch (err) {
        if (signal.aborted) throw new Cancelled();
        throw new HostError(`the build stream broke: ${(err as Error).message}`);
      }
      if (signal.aborted) throw new Cancelled();
      if (buildError !== undefined) throw new BuildError(buildError);
      if (!imageId) throw new HostError('the build ended without an image (the Podman service may have stopped)');
      building = false;

      for (const tag of otherTags) {
        try {
          await docker.getImage(imageId).tag({ repo: target, tag });
        } catch (err) {
          throw new HostError(`tagging ${target}:${tag} failed: ${(err as Error).message}`);
        }
      }
      checkCancelled();

      events.phase('pushing');
      const manifestDigests: string[] = [];
      for (const tag of [firstTag!, ...otherTags]) {
        checkCancelled();
        let pushError: string | undefined;
        let digest: string | undefined;
        try {
          const stream = await docker.getImage(target).push({
            tag,
            authconfig: authFor(job.pushCredentials, job.registry.host),
            ...(job.registry.insecure ? { tlsVerify: false } : {}),
            abortSignal: signal,
          } as object);
          await follow(stream, (m) => {
            if (m.aux?.Digest) digest = m.aux.Digest;
            const d = /digest: (sha256:[0-9a-f]{64})/.exec(m.status ?? '');
            if (d) digest ??= d[1];
            for (const line of progressToLines(m)) {
              if (line.type === 'error') pushError ??= line.message;
              log(line);
            }
          });
        } catch (err) {
          if (signal.aborted) throw new Cancelled();
          throw new HostError(`pushing ${target}:${tag} failed: ${(err as Error).message}`);
        }
        if (signal.aborted) throw new Cancelled();
        if (pushError !== undefined) throw new HostError(`pushing ${target}:${tag} failed: ${pushError}`);
        digest ??= await registryDigest(job, tag).catch(() => undefined);
        if (!digest) throw new HostError(`pushed ${target}:${tag} but the registry does not show its digest`);
        log({ type: 'plain', message: `pushed ${target}:${tag} ${digest}` });
        if (!manifestDigests.includes(digest)) manifestDigests.push(digest);
      }
      return { status: 'complete', imageId, manifestDigests };
    } catch (err) {
      if (err instanceof Cancelled || signal.aborted) {
        await cleanup(job.buildId, started, baseRefs, true);
        return { status: 'cancelled' };
      }
      if (err instanceof BuildError) {
        if (!debug) await cleanup(job.buildId, started, baseRefs, false);
        return { status: 'error', message: err.message };
      }
      if (err instanceof HostError) {
        if (!debug && building) await cleanup(job.buildId, started, baseRefs, false);
        log({ type: 'error', message: err.message });
        return { status: 'internalerror', message: err.message };
      }
      throw err;
    }
  };

  return { name: opts.name, run, ping };
}
