// Durations as Quay's config writes them: a number and a unit (`30s`, `1d`, `2w`).

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds in a duration such as `2w`; null when it is not one. */
export function durationSeconds(text: string): number | null {
  const m = /^([0-9]+)([smhdw])$/.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : null;
}

/** The time machine settings (seconds) a user or organization may choose, from TAG_EXPIRATION_OPTIONS. */
export function tagExpirationChoices(options: readonly string[]): number[] {
  return options.map((o) => durationSeconds(o)).filter((s): s is number => s !== null);
}
