// Reads an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// so that tests can compare what went into a registry with what came back out.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface LayoutImage {
  /** `oci:DIR:TAG`, what skopeo and buildah take. */
  ref: string;
  dir: string;
  tag: string;
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  layerDigests: string[];
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return path.join(dir, 'blobs', alg!, hex!);
}

/** Reads a blob and checks that its content matches its name, so a corrupt copy cannot pass unnoticed. */
export function readBlob(dir: string, digest: string): Buffer {
  const data = readFileSync(blobPath(dir, digest));
  const actual = sha256(data);
  if (actual !== digest) throw new Error(`blob ${digest} in ${dir} has content ${actual}`);
  return data;
}

export function readLayoutImage(dir: string, tag: string): LayoutImage {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no image tagged ${tag} in the OCI layout ${dir}`);
  const manifest = JSON.parse(readBlob(dir, entry.digest).toString('utf8')) as ImageManifest;
  for (const layer of manifest.layers) readBlob(dir, layer.digest);
  readBlob(dir, manifest.config.digest);
  return {
    ref: `oci:${dir}:${tag}`,
    dir,
    tag,
    manifestDigest: entry.digest,
    manifest,
    configDigest: manifest.config.digest,
    layerDigests: manifest.layers.map((l) => l.digest),
  };
}
