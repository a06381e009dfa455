// A small HTTP client for the /v2 API: node:http rather than fetch, so that tests decide every
// header (or its absence) and can stream bodies of any size.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { registryToken, type TestServer } from '../support/server.js';

export interface WireError {
  code: string;
  message: string;
  detail: unknown;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as the registry's error document, when it is one. */
  errors(): WireError[];
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
}

export function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function request(server: TestServer, method: string, urlPath: string, opts: RequestOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (Buffer.isBuffer(opts.body) && headers['content-length'] === undefined) headers['content-length'] = String(opts.body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}${urlPath}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode!, headers: res.headers, body,
          errors: () => (JSON.parse(body.toString('utf8')) as { errors: WireError[] }).errors,
        });
      });
    });
    req.on('error', reject);
    if (opts.body instanceof Readable) pipeline(opts.body, req).catch(reject);
    else req.end(opts.body);
  });
}

/** A user with a token holding `actions` on each repository named. */
export async function userToken(server: TestServer, user: string, repos: string[], actions = 'pull,push,delete'): Promise<string> {
  return registryToken(server, { user, password: `${user}-password` }, ...repos.map((r) => `repository:${r}:${actions}`));
}

export async function createUser(server: TestServer, user: string): Promise<void> {
  await server.cli('admin', 'create-user', user, '--email', `${user}@example.com`, '--password', `${user}-password`);
}

/** Pushes a blob in one request (POST ?digest=); resolves with its digest. */
export async function pushBlob(server: TestServer, token: string, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const res = await request(server, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { token, body: data });
  if (res.status !== 201) throw new Error(`push failed: ${res.status} ${res.body.toString()}`);
  return digest;
}

/** Starts an upload session; resolves with its Location. */
export async function startUpload(server: TestServer, token: string, repo: string): Promise<string> {
  const res = await request(server, 'POST', `/v2/${repo}/blobs/uploads/`, { token });
  if (res.status !== 202) throw new Error(`upload start failed: ${res.status} ${res.body.toString()}`);
  return res.headers.location!;
}

/** Every file under a folder, relative to it, with its size (a missing folder holds nothing). */
export function filesUnder(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = path.join(dir, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else out.set(path.relative(root, full), st.size);
    }
  };
  walk(root);
  return out;
}

/** Where the server keeps a blob's bytes (the test mirrors storage/paths.ts on purpose). */
export function blobFile(server: TestServer, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return path.join(server.dataDir, 'storage', 'blobs', algorithm, hex.slice(0, 2), hex, 'data');
}

export function uploadFile(server: TestServer, uploadId: string): string {
  return path.join(server.dataDir, 'storage', 'uploads', uploadId, 'data');
}

export function uploadIdOf(location: string): string {
  return location.split('/').pop()!;
}
