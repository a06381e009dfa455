import type { Config } from '../../src/config/schema.js';

export function realmOf(config: Config): string {
  return `${config.PREFERRED_URL_SCHEME}://${config.SERVER_HOSTNAME}/v2/auth`;
}

/** The WWW-Authenticate value Docker clients follow to fetch a token. */
export function bearerChallenge(config: Config, scope?: { name: string; actions: string[] }): string {
  let value = `Bearer realm="${realmOf(config)}",service="${config.SERVER_HOSTNAME}"`;
  if (scope) value += `,scope="repository:${scope.name}:${scope.actions.join(',')}"`;
  return value;
}
