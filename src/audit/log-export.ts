// Exporting usage logs, as Quay's export worker does: collect the entries into a JSON file, make
// it reachable for an hour, then tell the callback URL where it is. The job runs in the process
// that accepted the request; one that restarts meanwhile loses the job (the callback never comes).
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync, type ReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db/index.js';
import { allLogs, type LogFilter, type LogRecord } from './log-query.js';

/** How long an export stays downloadable (Quay: one hour). */
export const EXPORT_LIFETIME_MS = 3600_000;
const CALLBACK_TIMEOUT_MS = 10_000;
const CALLBACK_ATTEMPTS = 3;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ExportDeps {
  db: Db;
  log: Logger;
  /** Where export files are kept. */
  dir: string;
  /** The URL the finished export is served at, valid until `expiresAt`. */
  urlFor(exportId: string, expiresAt: number): string;
}

export interface ExportJob {
  filter: LogFilter;
  /** What was asked for (Quay's start_time, end_time, namespace, repository), echoed into the file and the callback. */
  details: Record<string, unknown>;
  callbackUrl: string;
  /** Each entry as the API shows it. */
  view(record: LogRecord): unknown;
  /** Records that the export failed after it was queued; `error` is safe to show the requester. */
  recordFailure(exportId: string, error: string): Promise<void>;
}

export type ExportStatus = 'success' | 'failed';

export function exportFile(dir: string, exportId: string): string | null {
  return UUID_RE.test(exportId) ? path.join(dir, `${exportId}.json`) : null;
}

/** The finished export's bytes, or null when there is none (unknown, expired, or still being written). */
export function openExport(dir: string, exportId: string): ReadStream | null {
  const file = exportFile(dir, exportId);
  if (!file) return null;
  try {
    statSync(file);
  } catch {
    return null;
  }
  return createReadStream(file);
}

/** Removes exports past their lifetime; they are no longer reachable anyway. */
function sweep(dir: string, now: number): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > EXPORT_LIFETIME_MS) rmSync(file, { force: true });
    } catch {
      // Removed by someone else meanwhile.
    }
  }
}

/** Streams the entries into the file through a temporary name, so a half-written export is never served. */
async function writeExport(deps: ExportDeps, exportId: string, job: ExportJob): Promise<void> {
  const file = exportFile(deps.dir, exportId)!;
  const tmp = `${file}.partial`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(`{"export_id":${JSON.stringify(exportId)},"details":${JSON.stringify(job.details)},"logs":[`);
    let first = true;
    let chunk = '';
    for await (const record of allLogs(deps.db, job.filter)) {
      chunk += (first ? '' : ',') + JSON.stringify(job.view(record));
      first = false;
      if (chunk.length > 64 * 1024) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    await fh.write(chunk + ']}');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

async function notify(deps: ExportDeps, url: string, body: object): Promise<void> {
  for (let attempt = 1; attempt <= CALLBACK_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS), redirect: 'manual',
      });
      if (res.ok) return;
      deps.log.warn({ url, status: res.status, attempt }, 'log export callback answered with an error');
    } catch (err) {
      deps.log.warn({ url, err, attempt }, 'log export callback failed');
    }
    if (attempt < CALLBACK_ATTEMPTS) await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
  deps.log.error({ url }, 'log export callback gave up');
}

/** An id for a new export, in the form the download route accepts. */
export function newExportId(): string {
  return randomUUID();
}

/**
 * Starts the export in the background; the callback hears of the outcome (as Quay's worker
 * tells it: the request's details, the URL or null, and the status).
 */
export function startLogExport(deps: ExportDeps, exportId: string, job: ExportJob): void {
  void (async () => {
    let status: ExportStatus = 'success';
    let url: string | null = null;
    try {
      mkdirSync(deps.dir, { recursive: true });
      sweep(deps.dir, Date.now());
      await writeExport(deps, exportId, job);
      url = deps.urlFor(exportId, Date.now() + EXPORT_LIFETIME_MS);
    } catch (err) {
      status = 'failed';
      deps.log.error({ err, exportId }, 'log export failed');
      // The cause (a path, an errno) is the operator's; the requester learns only that it failed.
      await job.recordFailure(exportId, 'the export file could not be written').catch((e: unknown) =>
        deps.log.error({ err: e, exportId }, 'could not record the failed log export'));
    }
    await notify(deps, job.callbackUrl, { export_id: exportId, ...job.details, exported_data_url: url, status });
  })();
}
