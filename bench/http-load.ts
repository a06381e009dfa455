// Load helpers shared by the benchmarks: streamed blob transfers over Node's http, and wrk for
// request-rate measurements (so the client's own cost is the same for both registries).
import { execFile } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Target {
  label: string;
  /** http://host:port */
  url: string;
  /** Authorization header value, or '' for none. */
  auth: string;
  repo: string;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request; `body` may be a Buffer or a file path streamed from disk (with its length). */
export function request(
  method: string, url: string, headers: Record<string, string>,
  body?: Buffer | { file: string; size: number; start?: number; end?: number },
  sink = false,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (!sink) chunks.push(c); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (!body) return req.end();
    if (Buffer.isBuffer(body)) {
      req.setHeader('content-length', body.length);
      return req.end(body);
    }
    const start = body.start ?? 0;
    const end = body.end ?? body.size - 1;
    req.setHeader('content-length', end - start + 1);
    createReadStream(body.file, { start, end, highWaterMark: 1 << 20 }).pipe(req);
  });
}

export function authHeaders(t: Target, extra: Record<string, string> = {}): Record<string, string> {
  return t.auth ? { authorization: t.auth, ...extra } : extra;
}

export function absolute(t: Target, location: string): string {
  return location.startsWith('http') ? location : t.url + location;
}

export function expectStatus(res: Response, want: number, what: string): void {
  if (res.status !== want) throw new Error(`${what}: expected ${want}, got ${res.status}: ${res.body.toString().slice(0, 300)}`);
}

export interface WrkResult {
  requestsPerSec: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** Runs wrk with a Lua script; parses requests/s, p50, p99 and non-2xx responses. */
export async function wrk(url: string, opts: { connections: number; seconds: number; script: string; threads?: number }): Promise<WrkResult> {
  const scriptFile = `/tmp/slipway-bench-${process.pid}-${Math.random().toString(36).slice(2)}.lua`;
  writeFileSync(scriptFile, opts.script);
  const { stdout } = await execFileP('wrk', [
    '-t', String(opts.threads ?? 2), '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--latency', '-s', scriptFile, url,
  ], { maxBuffer: 1 << 24 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  return { requestsPerSec: rps, p50ms: p50, p99ms: p99, non2xx };
}
