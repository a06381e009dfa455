// Reading `slipway admin gc`'s summary line in tests.
import assert from 'node:assert/strict';

export interface GcCounts {
  tags: number;
  manifests: number;
  links: number;
  blobs: number;
  bytesFreed: number;
}

export function parseSummary(out: string): GcCounts {
  const m = /collected (\d+) tags, (\d+) manifests, (\d+) blob links, (\d+) blobs; freed (\d+) bytes/.exec(out);
  assert.ok(m, `unexpected gc output: ${out}`);
  return { tags: Number(m[1]), manifests: Number(m[2]), links: Number(m[3]), blobs: Number(m[4]), bytesFreed: Number(m[5]) };
}
