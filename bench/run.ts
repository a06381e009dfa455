// `npm run bench`: Slipway and the CNCF reference registry side by side on this machine, the same
// client and the same scenarios for both, printed with the ratio Slipway / reference.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../test/support/server.js';
import { startReferenceRegistry } from '../test/support/reference-registry.js';
import { basic } from '../test/support/server.js';
import type { Target } from './http-load.js';
import * as scenarios from './registry-bench.js';
import { benchTriggers } from './trigger-bench.js';
import { benchBuilds } from './build-bench.js';

const BIG = Number(process.env.BENCH_BLOB_MB ?? 256) << 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TAGS = Number(process.env.BENCH_TAGS ?? 2000);

interface Row {
  metric: string;
  unit: string;
  /** Higher is better for rates, lower for times. */
  higherIsBetter: boolean;
  values: Record<string, number>;
}

async function measure(t: Target, blobs: { mono: scenarios.BlobFile; chunked: scenarios.BlobFile }): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const step = (name: string) => process.stderr.write(`  ${t.label}: ${name}…\n`);
  step('monolithic push'); out.monoPush = await scenarios.pushMonolithic(t, blobs.mono);
  step('chunked push'); out.chunkedPush = await scenarios.pushChunked(t, blobs.chunked);
  step('blob pull'); out.pull = await scenarios.pullBlob(t, blobs.mono);
  step('blob pull (curl)'); out.pullCurl = await scenarios.pullBlobCurl(t, blobs.mono);
  step('small blob pushes'); out.smallPush = await scenarios.pushSmallBlobs(t, 2000, 16);
  const manifest = await scenarios.prepareManifest(t);
  await scenarios.putManifest(t, manifest, 'bench');
  step('manifest PUT load');
  const put = await scenarios.manifestPutLoad(t, manifest, 32, SECONDS);
  step('manifest GET load');
  const get = await scenarios.manifestGetLoad(t, 'bench', 32, SECONDS);
  if (put.non2xx || get.non2xx) throw new Error(`${t.label}: ${put.non2xx} PUT and ${get.non2xx} GET requests failed under load`);
  Object.assign(out, { putRps: put.requestsPerSec, putP50: put.p50ms, putP99: put.p99ms, getRps: get.requestsPerSec, getP50: get.p50ms, getP99: get.p99ms });
  step(`listing ${TAGS} tags`); out.tagList = await scenarios.tagListTime(t, manifest, TAGS);
  return out;
}

const ROWS: [key: string, metric: string, unit: string, higherIsBetter: boolean][] = [
  ['monoPush', `monolithic blob push (${BIG >> 20} MiB)`, 'MB/s', true],
  ['chunkedPush', `chunked blob push (${BIG >> 20} MiB, 16 MiB chunks)`, 'MB/s', true],
  ['pull', `blob pull (${BIG >> 20} MiB, Node client, median of 5)`, 'MB/s', true],
  ['pullCurl', `blob pull (${BIG >> 20} MiB, curl, median of 5)`, 'MB/s', true],
  ['smallPush', 'small blob pushes (4 KiB, concurrency 16)', 'push/s', true],
  ['putRps', 'manifest PUT (concurrency 32)', 'req/s', true],
  ['putP50', 'manifest PUT p50', 'ms', false],
  ['putP99', 'manifest PUT p99', 'ms', false],
  ['getRps', 'manifest GET (concurrency 32)', 'req/s', true],
  ['getP50', 'manifest GET p50', 'ms', false],
  ['getP99', 'manifest GET p99', 'ms', false],
  ['tagList', `list ${TAGS} tags`, 'ms', false],
];

function printTable(rows: Row[]): void {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const header = ['metric', 'unit', 'slipway', 'reference', 'ratio'];
  const lines = rows.map((r) => {
    const s = r.values.slipway!;
    const ref = r.values.reference!;
    // The ratio reads "how many times as good as the reference" for every row.
    const ratio = r.higherIsBetter ? s / ref : ref / s;
    return [r.metric, r.unit, fmt(s), fmt(ref), `${ratio.toFixed(2)}x`];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const l of [header, ...lines]) console.log(l.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log('\nratio: Slipway relative to the reference registry, >1 is better (times are inverted so that holds for every row).');
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-'));
  process.stderr.write(`generating two ${BIG >> 20} MiB blobs…\n`);
  // Each registry starts on empty storage, so both can be sent the same bytes.
  const blobs = {
    mono: scenarios.makeBlobFile(path.join(work, 'mono'), BIG),
    chunked: scenarios.makeBlobFile(path.join(work, 'chunked'), BIG),
  };
  const results: Record<string, Record<string, number>> = {};

  const reference = await startReferenceRegistry();
  try {
    results.reference = await measure({ label: 'reference', url: reference.url, auth: '', repo: 'bench/repo' }, blobs);
  } finally {
    await reference.stop();
  }

  const slipway = await startServer({ config: { LOG_LEVEL: 'warn' } });
  try {
    await slipway.cli('admin', 'create-user', 'bench', '--email', 'bench@example.com', '--password', 'bench-password');
    await slipway.cli('admin', 'create-repo', 'bench/repo', '--private');
    const token = await slipway.cli('admin', 'create-robot', 'bench+ci');
    await slipway.cli('admin', 'grant', 'bench/repo', 'bench+ci', 'write');
    // Clients authenticate once and reuse the bearer token, as podman and skopeo do.
    const qs = new URLSearchParams({ service: slipway.host, scope: 'repository:bench/repo:pull,push' });
    const res = await fetch(`${slipway.url}/v2/auth?${qs}`, { headers: { authorization: basic('bench+ci', token) } });
    const bearer = ((await res.json()) as { token: string }).token;
    results.slipway = await measure({ label: 'slipway', url: slipway.url, auth: `Bearer ${bearer}`, repo: 'bench/repo' }, blobs);
  } finally {
    await slipway.stop();
    rmSync(work, { recursive: true, force: true });
  }

  printTable(ROWS.map(([key, metric, unit, higherIsBetter]) => ({
    metric, unit, higherIsBetter, values: { slipway: results.slipway![key]!, reference: results.reference![key]! },
  })));
  // BENCH_ONLY=registry stops after the registry table (the comparison the reference can make).
  if (process.env.BENCH_ONLY === 'registry') return;
  await benchTriggers();
  await benchBuilds();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
