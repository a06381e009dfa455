// GitHub push webhooks. Quay never checks X-Hub-Signature; here the HMAC over the raw body is
// verified with @octokit/webhooks before a byte of it is parsed.
import { Webhooks } from '@octokit/webhooks';
import { z } from 'zod';
import { forbidden, invalid } from '../../src/errors.js';
import type { GitUser, TriggerMetadata } from '../trigger-metadata.js';
import { header, jsonBody, mediaType, payloadError, unauthenticated, type ServiceHandler, type WebhookInput } from './service-handler.js';

const person = z.object({ username: z.string().optional(), name: z.string().optional() }).nullish();

const pushPayload = z.object({
  ref: z.string().regex(/^refs\/(heads|tags)\/.+$/, 'must be refs/heads/<branch> or refs/tags/<tag>'),
  deleted: z.boolean().optional(),
  head_commit: z.object({
    id: z.string().regex(/^[0-9a-f]{40}$/, 'must be a full commit SHA'),
    message: z.string(),
    timestamp: z.string(),
    url: z.string(),
    author: person,
    committer: person,
  }).nullable(),
  repository: z.object({ default_branch: z.string().optional(), master_branch: z.string().optional() }),
  sender: z.object({ login: z.string(), html_url: z.string().optional(), avatar_url: z.string().optional() }).optional(),
});

function body(input: WebhookInput): unknown {
  // A webhook set to application/x-www-form-urlencoded sends the JSON in the `payload` field.
  if (mediaType(input) === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(input.body.toString('utf8')).get('payload');
    if (payload === null) throw invalid('payload', 'the form-encoded payload lacks its payload field');
    return jsonBody({ ...input, body: Buffer.from(payload) });
  }
  return jsonBody(input);
}

/** GitHub's login, with the profile and avatar when the pusher is that person. */
function gitUser(p: z.infer<typeof person>, sender: z.infer<typeof pushPayload>['sender']): GitUser | undefined {
  if (!p?.username) return undefined;
  if (sender?.login !== p.username) return { username: p.username };
  return { username: p.username, ...(sender.html_url ? { url: sender.html_url } : {}), ...(sender.avatar_url ? { avatar_url: sender.avatar_url } : {}) };
}

export const githubHandler: ServiceHandler = {
  async verify(input, secret) {
    const signature = header(input, 'x-hub-signature-256');
    if (!signature) throw unauthenticated('the request is not signed: set the webhook secret on GitHub so that it sends X-Hub-Signature-256');
    let ok = false;
    try {
      ok = await new Webhooks({ secret }).verify(input.body.toString('utf8'), signature);
    } catch {
      ok = false;
    }
    if (!ok) throw forbidden('X-Hub-Signature-256 does not match the payload signed with the trigger\'s secret');
  },

  parse(input, trigger) {
    const event = header(input, 'x-github-event');
    if (!event) throw invalid('X-GitHub-Event', 'the request lacks the X-GitHub-Event header');
    if (event === 'ping') return { kind: 'ignored', reason: 'ping: the webhook reaches this trigger' };
    if (event !== 'push') return { kind: 'ignored', reason: `${event} events do not start builds; only push does` };
    const raw = body(input) as { deleted?: unknown; head_commit?: unknown; ref?: unknown };
    if (raw && typeof raw === 'object' && (raw.deleted === true || raw.head_commit === null)) {
      return { kind: 'ignored', reason: `the push deletes ${typeof raw.ref === 'string' ? raw.ref : 'a ref'}: nothing to build` };
    }
    const parsed = pushPayload.safeParse(raw);
    if (!parsed.success) throw payloadError(parsed.error.issues[0]!);
    const p = parsed.data;
    const commit = p.head_commit!;
    const author = gitUser(commit.author, p.sender);
    const committer = gitUser(commit.committer, p.sender);
    const metadata: TriggerMetadata = {
      commit: commit.id,
      ref: p.ref,
      git_url: trigger.config.build_source!,
      ...(p.repository.default_branch ?? p.repository.master_branch ? { default_branch: p.repository.default_branch ?? p.repository.master_branch } : {}),
      commit_info: {
        url: commit.url, message: commit.message, date: commit.timestamp,
        ...(author ? { author } : {}), ...(committer ? { committer } : {}),
      },
    };
    const deliveryId = header(input, 'x-github-delivery');
    return { kind: 'push', metadata, ...(deliveryId ? { deliveryId } : {}) };
  },
};
