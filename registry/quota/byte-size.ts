// Quay writes quota sizes for people ("10.0 GiB") and accepts them that way in `limit`.
import { invalid } from '../../src/errors.js';

const UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40,
};

/** `"10 GiB"`, `"500MB"`, `"1024"` → bytes; 400 naming `field` otherwise. */
export function parseByteSize(text: string, field = 'limit'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[(m[2] || 'B').toUpperCase()] : undefined;
  if (!m || unit === undefined) throw invalid(field, `${field}: ${JSON.stringify(text)} is not a size such as "10 GiB" or "500 MB"`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalid(field, `${field}: must be a positive size`);
  return bytes;
}

/** Bytes as Quay shows them: one decimal and a binary unit. */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(1)} ${units[i]}`;
}
