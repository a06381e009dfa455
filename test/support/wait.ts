// Polls until a condition holds, for tests that watch a real server or process change state.

/** Resolves with `fn`'s first truthy value; rejects naming `what` after `ms` milliseconds. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 15_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
