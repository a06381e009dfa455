// GitLab push and tag-push webhooks. Quay never checks X-Gitlab-Token; here the token must be the
// trigger's secret. GitLab sends at most 20 commits and none for a tag push: when the checked-out
// commit is not among them, the build goes ahead without commit_info (Quay asks GitLab's API).
import { z } from 'zod';
import { forbidden } from '../../src/errors.js';
import type { CommitInfo, TriggerMetadata } from '../trigger-metadata.js';
import { header, jsonBody, payloadError, sameSecret, unauthenticated, type ServiceHandler } from './service-handler.js';

const pushPayload = z.object({
  object_kind: z.enum(['push', 'tag_push']),
  ref: z.string().regex(/^refs\/(heads|tags)\/.+$/, 'must be refs/heads/<branch> or refs/tags/<tag>'),
  checkout_sha: z.string().regex(/^[0-9a-f]{40}$/, 'must be a full commit SHA'),
  user_username: z.string().optional(),
  user_email: z.string().optional(),
  user_avatar: z.string().nullish(),
  project: z.object({ default_branch: z.string().nullish(), web_url: z.string().optional() }).optional(),
  commits: z.array(z.object({
    id: z.string(),
    message: z.string(),
    timestamp: z.string().optional(),
    url: z.string().optional(),
    author: z.object({ name: z.string().optional(), email: z.string().optional() }).optional(),
  })).default([]),
});

type Push = z.infer<typeof pushPayload>;

function commitInfo(p: Push): CommitInfo | undefined {
  const c = p.commits.find((x) => x.id === p.checkout_sha);
  if (!c) return undefined;
  // GitLab names the pusher by username; the author only by name and email. They are the same
  // person when the emails agree, and then the username and avatar are known.
  const pusherWrote = p.user_username && c.author?.email && c.author.email === p.user_email;
  const username = pusherWrote ? p.user_username : c.author?.name;
  return {
    message: c.message,
    ...(c.url ? { url: c.url } : {}),
    ...(c.timestamp ? { date: c.timestamp } : {}),
    ...(username ? { author: { username, ...(pusherWrote && p.user_avatar ? { avatar_url: p.user_avatar } : {}) } } : {}),
  };
}

export const gitlabHandler: ServiceHandler = {
  async verify(input, secret) {
    const token = header(input, 'x-gitlab-token');
    if (!token) throw unauthenticated('the request carries no X-Gitlab-Token: set the webhook\'s secret token on GitLab');
    if (!sameSecret(token, secret)) throw forbidden('X-Gitlab-Token is not the trigger\'s secret');
  },

  parse(input, trigger) {
    const raw = jsonBody(input) as { object_kind?: unknown; checkout_sha?: unknown; commits?: unknown; ref?: unknown } | null;
    const kind = raw && typeof raw === 'object' ? raw.object_kind : undefined;
    if (kind !== 'push' && kind !== 'tag_push') return { kind: 'ignored', reason: `${typeof kind === 'string' ? kind : 'unknown'} events do not start builds; only push and tag_push do` };
    const ref = typeof raw!.ref === 'string' ? raw!.ref : 'a ref';
    // A deleted branch or tag comes with a null or all-zero checkout_sha.
    if (raw!.checkout_sha == null || (typeof raw!.checkout_sha === 'string' && /^0+$/.test(raw!.checkout_sha))) {
      return { kind: 'ignored', reason: `the push deletes ${ref}: nothing to build` };
    }
    if (kind === 'push' && Array.isArray(raw!.commits) && raw!.commits.length === 0) return { kind: 'ignored', reason: `the push to ${ref} holds no commits` };
    const parsed = pushPayload.safeParse(raw);
    if (!parsed.success) throw payloadError(parsed.error.issues[0]!);
    const p = parsed.data;
    const info = commitInfo(p);
    const metadata: TriggerMetadata = {
      commit: p.checkout_sha,
      ref: p.ref,
      git_url: trigger.config.build_source!,
      ...(p.project?.default_branch ? { default_branch: p.project.default_branch } : {}),
      ...(info ? { commit_info: info } : {}),
    };
    // GitLab repeats Idempotency-Key when it retries a delivery.
    const deliveryId = header(input, 'idempotency-key');
    return { kind: 'push', metadata, ...(deliveryId ? { deliveryId } : {}) };
  },
};
