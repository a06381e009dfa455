// `slipway admin gc`: one collection pass by hand, a progress line on stderr, a summary on stdout.
import type { Db } from '../../src/db/index.js';
import type { BlobDeleter, BlobIngester } from '../storage/blob-store.js';
import { collectGarbage, type GcPhase } from './collector.js';

export async function gcCommand(
  deps: { db: Db; blobs: BlobDeleter & Pick<BlobIngester, 'deleteUpload'>; graceSeconds: number; uploadExpirySeconds: number },
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  let last = '';
  let shown = 0;
  const onProgress = (phase: GcPhase, done: number, total: number) => {
    const line = `gc: ${phase} ${done}/${total}`;
    // At most a few lines a second: a terminal gets a line rewritten in place, a log a line each.
    if (line === last || (Date.now() - shown < 200 && done !== total)) return;
    last = line;
    shown = Date.now();
    stderr.write((stderr as { isTTY?: boolean }).isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  };
  const s = await collectGarbage(deps, { onProgress });
  if ((stderr as { isTTY?: boolean }).isTTY && last) stderr.write('\n');
  return [
    `collected ${s.tags} tags, ${s.manifests} manifests, ${s.links} blob links, ${s.blobs} blobs; freed ${s.bytesFreed} bytes`,
    `(${s.uploads} abandoned uploads, ${s.orphans} stale blob claims removed)`,
  ].join(' ');
}
