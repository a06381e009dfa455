// Small real OCI images written straight to an OCI layout (gzipped tar layers, a config naming
// their diff ids), so GC and quota tests can make many distinct images quickly and know every
// blob's digest and size; skopeo copies them like any other image.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256, type LayoutImage } from '../support/oci-layout.js';

export interface TinyBlob {
  digest: string;
  size: number;
  bytes: Buffer;
  mediaType: string;
}

export interface TinyImage extends LayoutImage {
  /** Config and layers, each with its size. */
  blobs: TinyBlob[];
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (text: string, offset: number, length: number) => h.write(text.slice(0, length), offset, 'ascii');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  const sum = h.reduce((a, b) => a + b, 0);
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** A one-file tar; its gzip is deterministic for the same content. */
export function layerOf(file: string, content: Buffer): { tar: Buffer; blob: TinyBlob } {
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  const tar = Buffer.concat([tarHeader(file, content.length), content, pad, Buffer.alloc(1024, 0)]);
  const gz = gzipSync(tar);
  return { tar, blob: { digest: sha256(gz), size: gz.length, bytes: gz, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' } };
}

/** Random, incompressible content: a layer of about `bytes` bytes that no other image has. */
export function randomLayer(bytes: number) {
  return layerOf(`data/${randomBytes(6).toString('hex')}.bin`, randomBytes(bytes));
}

function putBlob(dir: string, bytes: Buffer): void {
  const hex = sha256(bytes).slice('sha256:'.length);
  writeFileSync(path.join(dir, 'blobs', 'sha256', hex), bytes);
}

/** Writes an image of `layers` (in order) to an OCI layout at `dir`, tagged `tag`. */
export function writeTinyImage(dir: string, tag: string, layers: { tar: Buffer; blob: TinyBlob }[]): TinyImage {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const configBytes = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
    // Two images with the same layers still differ by their config.
    history: [{ created_by: `slipway test ${randomBytes(6).toString('hex')}` }],
  }));
  const config: TinyBlob = { digest: sha256(configBytes), size: configBytes.length, bytes: configBytes, mediaType: 'application/vnd.oci.image.config.v1+json' };
  for (const b of [config, ...layers.map((l) => l.blob)]) putBlob(dir, b.bytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.blob.mediaType, digest: l.blob.digest, size: l.blob.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  putBlob(dir, manifestBytes);
  const manifestDigest = sha256(manifestBytes);
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: manifest.mediaType, digest: manifestDigest, size: manifestBytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return {
    ref: `oci:${dir}:${tag}`, dir, tag, manifestDigest, manifest, configDigest: config.digest,
    layerDigests: layers.map((l) => l.blob.digest), blobs: [config, ...layers.map((l) => l.blob)],
  };
}

/** Where the server keeps a blob's bytes (registry/storage/paths.ts, under DATA_DIR/storage). */
export function storedBlobPath(dataDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}
