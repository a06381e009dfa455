// `npm run bench`, triggers: how long from a push's webhook reaching Slipway to its build running
// (claimed by a worker, its `build-scheduled` line logged), and how long the webhook waits for its
// answer (the build row committed). One push at a time on an idle worker, so the figures are the
// path's own latency, not queueing. No reference registry does this: printed on their own.
import { basic, startServer } from '../test/support/server.js';

const PUSHES = Number(process.env.BENCH_TRIGGER_PUSHES ?? 50);

interface Sample {
  ackMs: number;
  runningMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function json(res: Response, what: string): Promise<any> {
  const body = await res.json();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function benchTriggers(): Promise<void> {
  process.stderr.write(`triggers: ${PUSHES} webhooks, each until its build runs…\n`);
  const server = await startServer({
    config: {
      LOG_LEVEL: 'warn',
      FEATURE_BUILD_SUPPORT: true,
      BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1, MAX_ATTEMPTS: 1 },
      // The build itself is not measured: its source answers nobody, so it ends at once and frees the worker.
      EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'nowhere', PODMAN_HOST: 'unix:///nonexistent/podman.sock' }],
      SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD: 0,
      SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD: 0,
    },
  });
  try {
    await server.cli('admin', 'create-user', 'bench', '--email', 'bench@example.com', '--password', 'bench-password');
    await server.cli('admin', 'create-repo', 'bench/app');
    const auth = { authorization: basic('bench', 'bench-password'), 'content-type': 'application/json' };
    const api = `${server.url}/api/v1/repository/bench/app`;
    const created = await json(await fetch(`${api}/trigger/`, {
      method: 'POST', headers: auth, body: JSON.stringify({ service: 'custom-git', config: { build_source: 'ssh://git@127.0.0.1:1/app.git' } }),
    }), 'creating the trigger');
    const activated = await json(await fetch(`${api}/trigger/${created.id}/activate`, { method: 'POST', headers: auth, body: '{}' }), 'activating the trigger');
    const hookUrl = new URL(activated.webhook_url);
    const hookAuth = 'Basic ' + Buffer.from(`$token:${decodeURIComponent(hookUrl.password)}`).toString('base64');

    const samples: Sample[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const body = JSON.stringify({ commit: (i + 1).toString(16).padStart(40, 'b'), ref: 'refs/heads/main', default_branch: 'main' });
      const sent = Date.now();
      const answer = await json(await fetch(`${server.url}/webhooks/push/trigger/${created.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: hookAuth }, body,
      }), 'webhook');
      const ackMs = Date.now() - sent;
      // The server stamps each log line; the first one is written when a worker claims the build.
      let scheduledAt: number | null = null;
      let finished = false;
      while (scheduledAt === null || !finished) {
        const logs = await json(await fetch(`${api}/build/${answer.build_id}/logs`, { headers: auth }), 'build logs');
        const line = logs.logs.find((l: any) => l.type === 'phase' && l.message === 'build-scheduled');
        if (line) scheduledAt = Date.parse(line.datetime);
        const build = await json(await fetch(`${api}/build/${answer.build_id}`, { headers: auth }), 'build');
        finished = ['complete', 'error', 'internalerror', 'cancelled'].includes(build.phase);
        if (scheduledAt === null || !finished) await new Promise((r) => setTimeout(r, 20));
      }
      samples.push({ ackMs, runningMs: scheduledAt - sent });
    }

    const ack = samples.map((s) => s.ackMs).sort((a, b) => a - b);
    const running = samples.map((s) => s.runningMs).sort((a, b) => a - b);
    console.log(`\nbuild triggers (${PUSHES} custom-git webhooks, one at a time; no reference registry equivalent)`);
    console.log(`  webhook answered (build row committed)   p50 ${percentile(ack, 50)} ms   p99 ${percentile(ack, 99)} ms`);
    console.log(`  webhook received → build running         p50 ${percentile(running, 50)} ms   p99 ${percentile(running, 99)} ms`);
  } finally {
    await server.stop();
  }
}
