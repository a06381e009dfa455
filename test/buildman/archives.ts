// Hand-made archives for context tests, including the hostile ones no archiver would write.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  /** '0' file, '1' hard link, '2' symlink, '5' folder, '3' char device */
  type?: '0' | '1' | '2' | '3' | '5';
  body?: string;
  linkname?: string;
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(e.type ?? '0', 156);
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

export function makeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    parts.push(header(e, (e.type ?? '0') === '0' ? body.length : 0));
    if ((e.type ?? '0') === '0' && body.length) parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const makeTarGz = (entries: TarEntry[]) => gzipSync(makeTar(entries));

/** A zip made by the `zip` tool from files (and symlinks: `link:` bodies) laid out on disk. */
export function makeZip(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zipsrc-'));
  try {
    for (const [name, body] of Object.entries(files)) {
      const p = path.join(dir, name);
      mkdirSync(path.dirname(p), { recursive: true });
      if (body.startsWith('link:')) symlinkSync(body.slice(5), p);
      else writeFileSync(p, body);
    }
    execFileSync('zip', ['-q', '-r', '-y', 'out.zip', ...Object.keys(files)], { cwd: dir });
    return readFileSync(path.join(dir, 'out.zip'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const DOCKERFILE = 'FROM alpine\nRUN echo hi\nCOPY . /src\n';
