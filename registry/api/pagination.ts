import type { FastifyReply } from 'fastify';

// `n`/`last` pagination shared by the tag list and the catalog (distribution spec, "Listing Tags").

export interface PageRequest {
  /** Entries wanted; undefined for all of them. */
  n?: number;
  /** Answer only entries sorted after this one. */
  last?: string;
}

/** Reads `n` and `last` from the query string; an `n` that is not a count falls back to the default. */
export function pageRequest(query: unknown, defaultN?: number): PageRequest {
  const q = (query ?? {}) as Record<string, unknown>;
  const raw = typeof q.n === 'string' && /^\d+$/.test(q.n) ? Number(q.n) : undefined;
  const n = raw !== undefined && Number.isSafeInteger(raw) ? raw : defaultN;
  const last = typeof q.last === 'string' && q.last !== '' ? q.last : undefined;
  return { n, last };
}

/** How many rows to fetch: one more than asked, which tells whether another page follows. */
export function fetchLimit(page: PageRequest): number | undefined {
  return page.n === undefined ? undefined : page.n + 1;
}

/**
 * Trims the fetched rows to the page and, when more remain, sets
 * `Link: </v2/…?n=N&last=X>; rel="next"`.
 */
export function finishPage(reply: FastifyReply, path: string, page: PageRequest, rows: string[]): string[] {
  if (page.n === undefined || rows.length <= page.n) return rows;
  const items = rows.slice(0, page.n);
  if (items.length) {
    const next = `${path}?n=${page.n}&last=${encodeURIComponent(items[items.length - 1]!)}`;
    reply.header('link', `<${next}>; rel="next"`);
  }
  return items;
}
