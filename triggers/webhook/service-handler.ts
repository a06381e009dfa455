// What each trigger service (GitHub, GitLab, custom git) does with a webhook request: check its
// credentials against the trigger's secret before anything is parsed, then turn the payload into
// a push to build or a reason to ignore it.
import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { DomainError, invalid } from '../../src/errors.js';
import type { Trigger } from '../trigger-store.js';
import type { TriggerMetadata } from '../trigger-metadata.js';

export interface WebhookInput {
  headers: IncomingHttpHeaders;
  /** The body's bytes exactly as received: signatures are computed over these. */
  body: Buffer;
}

export type PushOutcome =
  | { kind: 'push'; metadata: TriggerMetadata; /** The sender's id for this delivery, when it sends one: a redelivery is not built twice. */ deliveryId?: string }
  | { kind: 'ignored'; reason: string };

export interface ServiceHandler {
  /** Throws `unauthenticated` when no credentials came, `forbidden` when they are wrong. */
  verify(input: WebhookInput, secret: string): Promise<void>;
  /** Throws `invalid` naming the field the payload lacks. */
  parse(input: WebhookInput, trigger: Trigger): PushOutcome;
}

export function header(input: WebhookInput, name: string): string | undefined {
  const v = input.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export const unauthenticated = (message: string) => new DomainError('unauthenticated', message);

/** Compares secrets in constant time, so that timing reveals nothing of the expected one. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The body as JSON; anything else is a 400. */
export function jsonBody(input: WebhookInput): unknown {
  try {
    return JSON.parse(input.body.toString('utf8'));
  } catch {
    throw invalid('body', 'the payload is not valid JSON');
  }
}

/** The media type of the request, lower-cased, without parameters. */
export function mediaType(input: WebhookInput): string {
  return (header(input, 'content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** The first problem zod found, as a 400 naming its field. */
export function payloadError(issue: { path: PropertyKey[]; message: string; code: string }): DomainError {
  const field = issue.path.map(String).join('.') || 'body';
  const message = issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? `the payload lacks the required field ${field}` : `${field}: ${issue.message}`;
  return invalid(field, message);
}
