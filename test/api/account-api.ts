// A small /api/v1 client for the account suites (users, organizations, robots).
import { basic, type TestServer } from '../support/server.js';

export interface Creds {
  user: string;
  password: string;
}

export interface ApiResult {
  status: number;
  // The JSON body, as the test reads it.
  body: any;
}

/** An OAuth access token, sent as `Authorization: Bearer`. */
export interface Bearer {
  token: string;
}

/** Calls `/api/v1{path}` as `who` (null: anonymous) and returns the status and the parsed body. */
export async function call(server: TestServer, who: Creds | Bearer | null, method: string, path: string, body?: unknown): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (who) headers.authorization = 'token' in who ? `Bearer ${who.token}` : basic(who.user, who.password);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The actions a registry token for `scope` grants, as /v2/auth answers (null: anonymous). */
export async function grantedActions(server: TestServer, who: Creds | null, scope: string): Promise<{ status: number; actions: string[] }> {
  const qs = new URLSearchParams({ service: server.host, scope });
  const res = await fetch(`${server.url}/v2/auth?${qs}`, { headers: who ? { authorization: basic(who.user, who.password) } : {} });
  if (res.status !== 200) return { status: res.status, actions: [] };
  const { token } = (await res.json()) as { token: string };
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access: { actions: string[] }[] };
  return { status: 200, actions: claims.access[0]?.actions ?? [] };
}

export interface LoggedEntry {
  kind: string;
  performer: string | null;
  namespace: string | null;
  metadata: Record<string, unknown>;
}

/** Every usage log entry of the last day, oldest first, read as a superuser through /superuser/logs. */
export async function usageLogs(server: TestServer, superuser: Creds): Promise<LoggedEntry[]> {
  const out: LoggedEntry[] = [];
  let next: string | undefined;
  do {
    const res = await call(server, superuser, 'GET', `/superuser/logs${next ? `?next_page=${encodeURIComponent(next)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /superuser/logs: ${res.status} ${JSON.stringify(res.body)}`);
    for (const l of res.body.logs) {
      out.push({ kind: l.kind, performer: l.performer?.name ?? null, namespace: l.namespace?.name ?? null, metadata: l.metadata });
    }
    next = res.body.next_page;
  } while (next);
  return out.reverse();
}

/** The entries of one kind, as `performer@namespace metadata-field…` strings that read well in a failed assertion. */
export function entriesOf(logs: LoggedEntry[], kind: string, ...fields: string[]): string[] {
  return logs.filter((l) => l.kind === kind).map((l) => [`${l.performer}@${l.namespace}`, ...fields.map((f) => String(l.metadata[f]))].join(' '));
}
