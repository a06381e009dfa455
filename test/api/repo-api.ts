// Helpers for the repository, permission and prototype suites: a tiny image push through /v2.
import { pushBlob, request, sha256 } from '../registry/registry-client.js';
import { registryToken, type TestServer } from '../support/server.js';
import type { Creds } from './account-api.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Pushes a one-layer image as `who` and tags it; resolves with the manifest digest. */
export async function pushImage(server: TestServer, who: Creds, repo: string, tag: string): Promise<string> {
  return (await pushTestImage(server, who, repo, tag)).digest;
}

export interface TestImageOptions {
  /** Makes the image's bytes differ between pushes to one reference (default: the reference). */
  seed?: string;
  /** The image config's labels. */
  labels?: Record<string, string>;
  configMediaType?: string;
}

/** Pushes a one-layer image as `who` under `ref` (a tag or its own digest). */
export async function pushTestImage(server: TestServer, who: Creds, repo: string, ref: string, opts: TestImageOptions = {}): Promise<{ digest: string; layerSize: number }> {
  const seed = opts.seed ?? ref;
  const token = await registryToken(server, who, `repository:${repo}:pull,push`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: opts.labels ?? {} }, rootfs: { type: 'layers', diff_ids: [] }, seed }));
  const layer = Buffer.from(`layer of ${repo}:${seed}`);
  const configDigest = await pushBlob(server, token, repo, config);
  const layerDigest = await pushBlob(server, token, repo, layer);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: opts.configMediaType ?? 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
  }));
  const res = await request(server, 'PUT', `/v2/${repo}/manifests/${ref}`, { token, body: manifest, headers: { 'content-type': OCI_MANIFEST } });
  if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${res.body.toString()}`);
  return { digest: sha256(manifest), layerSize: layer.length };
}

/** The tags /v2 lists for the repository, as `who`; null when the registry refuses. */
export async function registryTags(server: TestServer, who: Creds, repo: string): Promise<string[] | null> {
  const token = await registryToken(server, who, `repository:${repo}:pull`);
  const res = await request(server, 'GET', `/v2/${repo}/tags/list`, { token });
  if (res.status !== 200) return null;
  return (JSON.parse(res.body.toString()) as { tags: string[] | null }).tags ?? [];
}
