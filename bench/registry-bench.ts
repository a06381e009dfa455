// The registry scenarios of `npm run bench`, each run against one target at a time.
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { absolute, authHeaders, expectStatus, request, wrk, type Target, type WrkResult } from './http-load.js';

const execFileP = promisify(execFile);

export interface BlobFile {
  file: string;
  size: number;
  digest: string;
}

/** Writes `size` random bytes to a file and returns its digest (so no registry can dedupe it). */
export function makeBlobFile(file: string, size: number): BlobFile {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  const chunk = 8 << 20;
  for (let done = 0; done < size; done += chunk) {
    const buf = randomBytes(Math.min(chunk, size - done));
    hash.update(buf);
    writeSync(fd, buf);
  }
  closeSync(fd);
  return { file, size, digest: `sha256:${hash.digest('hex')}` };
}

async function startUpload(t: Target): Promise<string> {
  const res = await request('POST', `${t.url}/v2/${t.repo}/blobs/uploads/`, authHeaders(t));
  expectStatus(res, 202, 'start upload');
  return absolute(t, String(res.headers.location));
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

/** POST, then one PUT carrying the whole blob: the spec's monolithic upload. Returns MB/s. */
export async function pushMonolithic(t: Target, blob: BlobFile): Promise<number> {
  const started = performance.now();
  const location = await startUpload(t);
  const res = await request('PUT', withDigest(location, blob.digest), authHeaders(t, { 'content-type': 'application/octet-stream' }), blob);
  expectStatus(res, 201, 'monolithic PUT');
  return blob.size / (1 << 20) / ((performance.now() - started) / 1000);
}

/** POST, PATCH chunks in order, then PUT: the spec's chunked upload. Returns MB/s. */
export async function pushChunked(t: Target, blob: BlobFile, chunkSize = 16 << 20): Promise<number> {
  const started = performance.now();
  let location = await startUpload(t);
  for (let start = 0; start < blob.size; start += chunkSize) {
    const end = Math.min(start + chunkSize, blob.size) - 1;
    const res = await request('PATCH', location, authHeaders(t, { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}` }), { ...blob, start, end });
    expectStatus(res, 202, 'PATCH chunk');
    location = absolute(t, String(res.headers.location));
  }
  const res = await request('PUT', withDigest(location, blob.digest), authHeaders(t));
  expectStatus(res, 201, 'chunked PUT');
  return blob.size / (1 << 20) / ((performance.now() - started) / 1000);
}

/** The median of `rounds` measurements: one pull of a large blob swings with whatever else the two cores are doing. */
async function medianOf(rounds: number, measure: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < rounds; i++) values.push(await measure());
  return values.sort((a, b) => a - b)[rounds >> 1]!;
}

/** GET the blob `rounds` times with Node's client, discarding the bytes. Returns the median MB/s. */
export function pullBlob(t: Target, blob: BlobFile, rounds = 5): Promise<number> {
  return medianOf(rounds, async () => {
    const started = performance.now();
    const res = await request('GET', `${t.url}/v2/${t.repo}/blobs/${blob.digest}`, authHeaders(t), undefined, true);
    expectStatus(res, 200, 'blob GET');
    return blob.size / (1 << 20) / ((performance.now() - started) / 1000);
  });
}

/**
 * GET the blob with curl, `rounds` times, and return the median MB/s. Node's own HTTP client
 * shares this machine's two cores with the server and caps a Node server well below what a real
 * client (podman, skopeo and curl are native) sees, so this row measures the registry rather than
 * the client.
 */
export function pullBlobCurl(t: Target, blob: BlobFile, rounds = 5): Promise<number> {
  const args = ['-s', '-f', '-o', '/dev/null', '-w', '%{speed_download}', ...Object.entries(authHeaders(t)).flatMap(([k, v]) => ['-H', `${k}: ${v}`])];
  return medianOf(rounds, async () => {
    const { stdout } = await execFileP('curl', [...args, `${t.url}/v2/${t.repo}/blobs/${blob.digest}`]);
    return Number(stdout) / (1 << 20);
  });
}

/** Pushes `count` distinct 4 KiB blobs with `concurrency` in flight. Returns pushes/s. */
export async function pushSmallBlobs(t: Target, count: number, concurrency: number): Promise<number> {
  const blobs = Array.from({ length: count }, () => {
    const bytes = randomBytes(4096);
    return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
  });
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < blobs.length) {
      const b = blobs[next++]!;
      const location = await startUpload(t);
      const res = await request('PUT', withDigest(location, b.digest), authHeaders(t, { 'content-type': 'application/octet-stream' }), b.bytes);
      expectStatus(res, 201, 'small blob PUT');
    }
  }));
  return count / ((performance.now() - started) / 1000);
}

export interface ImageManifest {
  body: Buffer;
  digest: string;
}

/** Uploads a config and a layer and returns an OCI manifest naming them (not yet pushed). */
export async function prepareManifest(t: Target): Promise<ImageManifest> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
  const layer = randomBytes(1024);
  const descriptors = [];
  for (const [bytes, mediaType] of [[config, 'application/vnd.oci.image.config.v1+json'], [layer, 'application/vnd.oci.image.layer.v1.tar+gzip']] as const) {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const location = await startUpload(t);
    expectStatus(await request('PUT', withDigest(location, digest), authHeaders(t), bytes), 201, 'manifest blob PUT');
    descriptors.push({ mediaType, digest, size: bytes.length });
  }
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: descriptors[0], layers: [descriptors[1]] };
  const body = Buffer.from(JSON.stringify(manifest));
  return { body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
}

export async function putManifest(t: Target, m: ImageManifest, tag: string): Promise<void> {
  const res = await request('PUT', `${t.url}/v2/${t.repo}/manifests/${tag}`, authHeaders(t, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }), m.body);
  expectStatus(res, 201, 'manifest PUT');
}

function luaString(s: string): string {
  return JSON.stringify(s);
}

function luaHeaders(t: Target, extra: Record<string, string>): string {
  return Object.entries(authHeaders(t, extra)).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`).join('\n');
}

/** Manifest PUTs to rotating tags, `connections` in flight, for `seconds`. */
export function manifestPutLoad(t: Target, m: ImageManifest, connections: number, seconds: number): Promise<WrkResult> {
  const script = `
wrk.method = "PUT"
wrk.body = ${luaString(m.body.toString())}
${luaHeaders(t, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/v2/${t.repo}/manifests/load-" .. (n % 200))
end`;
  return wrk(t.url, { connections, seconds, script });
}

/** Manifest GETs by tag, `connections` in flight, for `seconds`. */
export function manifestGetLoad(t: Target, tag: string, connections: number, seconds: number): Promise<WrkResult> {
  const script = `
wrk.method = "GET"
${luaHeaders(t, { accept: 'application/vnd.oci.image.manifest.v1+json' })}
wrk.path = "/v2/${t.repo}/manifests/${tag}"`;
  return wrk(t.url, { connections, seconds, script });
}

/** Creates `count` tags on one manifest, then times listing them all (median of `runs`). Returns ms. */
export async function tagListTime(t: Target, m: ImageManifest, count: number, runs = 5): Promise<number> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) await putManifest(t, m, `t${String(next++).padStart(5, '0')}`);
  }));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await request('GET', `${t.url}/v2/${t.repo}/tags/list?n=${count + 1000}`, authHeaders(t));
    expectStatus(res, 200, 'tags list');
    const listed = (JSON.parse(res.body.toString()) as { tags: string[] }).tags.filter((x) => /^t\d{5}$/.test(x)).length;
    if (listed !== count) throw new Error(`tags list returned ${listed} of ${count} tags`);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
