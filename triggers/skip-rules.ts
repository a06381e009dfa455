// Quay's raise_if_skipped_build: a push is not built when its ref falls outside branchtag_regex
// or its head commit asks not to be. Unlike Quay, the answer says which rule applied.
import type { TriggerMetadata } from './trigger-metadata.js';

const SKIP_MARKERS = ['[skip build]', '[build skip]'];

/** Why this push is not built, or null to build it. */
export function skipReason(config: { branchtag_regex?: string }, metadata: TriggerMetadata): string | null {
  if (config.branchtag_regex) {
    // Matched against the ref without `refs/`, as Quay does: `heads/main`, `tags/v1`.
    const name = metadata.ref?.replace(/^refs\//, '');
    if (name === undefined) return `the push names no ref to match against branchtag_regex ${config.branchtag_regex}`;
    if (!fullMatch(config.branchtag_regex, name)) return `${name} does not match branchtag_regex ${config.branchtag_regex}`;
  }
  const message = metadata.commit_info?.message ?? '';
  const marker = SKIP_MARKERS.find((m) => message.includes(m));
  if (marker) return `the commit message of ${metadata.commit.slice(0, 7)} says ${marker}`;
  return null;
}

/** Whether the whole of `value` matches `pattern` (Python's fullmatch), not just a prefix of it. */
export function fullMatch(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(value);
}
