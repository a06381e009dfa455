// `slipway build DIR --repo NS/REPO`: uploads a folder as the build context, follows the log live
// (resuming by seq if the connection drops), and exits 0 only when the build completes.
import * as tar from 'tar';
import WebSocket from 'ws';

export interface BuildCommandOptions {
  repo: string;
  tags: string[];
  server: string;
  user?: string;
  password?: string;
  out?: NodeJS.WritableStream;
}

async function packFolder(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tar.create({ gzip: true, cwd: dir, portable: true }, ['.'])) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Follows the log from `since` until the final phase; null when the connection dropped first. */
function follow(url: string, headers: Record<string, string>, since: number, out: NodeJS.WritableStream, onSeq: (n: number) => void): Promise<string | null> {
  return new Promise((resolve) => {
    let final: string | null = null;
    const ws = new WebSocket(`${url}?since=${since}`, { headers });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { seq?: number; type?: string; message?: string; phase?: string; final?: boolean };
      if (m.final) {
        final = m.phase ?? 'unknown';
        return;
      }
      if (typeof m.seq === 'number') onSeq(m.seq);
      if (m.type === 'phase') out.write(`==> ${m.message}\n`);
      else if (m.type === 'error') out.write(`ERROR: ${m.message}\n`);
      else out.write(`${m.message}\n`);
    });
    ws.on('unexpected-response', (_req, res) => {
      out.write(`the log stream was refused: HTTP ${res.statusCode}\n`);
      resolve('unreachable');
    });
    ws.on('error', () => undefined);
    ws.on('close', () => resolve(final));
  });
}

export async function buildCommand(dir: string, opts: BuildCommandOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const server = opts.server.replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (opts.user) headers.authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64');
  const form = new FormData();
  form.append('docker_tags', (opts.tags.length ? opts.tags : ['latest']).join(','));
  form.append('file', new Blob([new Uint8Array(await packFolder(dir))]), 'context.tar.gz');
  const base = `${server}/api/v1/repository/${opts.repo}/build/`;
  const res = await fetch(base, { method: 'POST', headers, body: form });
  const body = (await res.json().catch(() => ({}))) as { id?: string; error_message?: string };
  if (res.status !== 201 || !body.id) {
    out.write(`slipway: the build was refused (${res.status}): ${body.error_message ?? 'no reason given'}\n`);
    return 1;
  }
  out.write(`build ${body.id} queued for ${opts.repo}:${opts.tags.join(',') || 'latest'}\n`);
  const streamUrl = `${server.replace(/^http/, 'ws')}/api/v1/repository/${opts.repo}/build/${body.id}/logs/stream`;
  let next = 0;
  for (let tries = 0; tries < 30; tries++) {
    const phase = await follow(streamUrl, headers, next, out, (seq) => (next = seq + 1));
    if (phase === 'unreachable') return 1;
    if (phase) {
      out.write(`build ${body.id}: ${phase}\n`);
      return phase === 'complete' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  out.write(`slipway: lost the log stream of build ${body.id}\n`);
  return 1;
}
