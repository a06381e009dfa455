// Manifest bytes by digest, least recently used first out. Content-addressed bytes never change,
// so an entry can never be stale; whether a repository still holds the manifest is always asked
// of the database, so a delete on another replica is honoured at once.

export interface ContentCache {
  get(digest: string): Buffer | undefined;
  set(digest: string, bytes: Buffer): void;
}

export function createContentCache(maxBytes: number): ContentCache {
  const entries = new Map<string, Buffer>();
  let total = 0;
  return {
    get(digest) {
      const hit = entries.get(digest);
      if (hit) {
        // Map keeps insertion order: re-inserting marks the entry as recently used.
        entries.delete(digest);
        entries.set(digest, hit);
      }
      return hit;
    },
    set(digest, bytes) {
      if (bytes.length > maxBytes || entries.has(digest)) return;
      entries.set(digest, bytes);
      total += bytes.length;
      for (const [key, value] of entries) {
        if (total <= maxBytes) break;
        entries.delete(key);
        total -= value.length;
      }
    },
  };
}
