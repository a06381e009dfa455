// Custom git: any git server's post-receive hook POSTs the seed's JSON (Quay guide 7.7.2.2) with
// Basic `$token:<secret>`, the credentials the webhook URL carries.
import { z } from 'zod';
import { forbidden, invalid } from '../../src/errors.js';
import { parseBasic } from '../../src/auth/credentials.js';
import type { TriggerMetadata } from '../trigger-metadata.js';
import { header, jsonBody, mediaType, payloadError, sameSecret, unauthenticated, type ServiceHandler } from './service-handler.js';

const gitUser = z.object({ username: z.string().min(1), avatar_url: z.string(), url: z.string() });

const customPayload = z.object({
  commit: z.string().regex(/^[A-Fa-f0-9]{7,64}$/, 'must be a commit SHA (7 to 64 hex digits: SHA-1 or SHA-256 repositories)'),
  ref: z.string().regex(/^refs\/(heads|tags|remotes)\/.+$/, 'must be refs/heads/<branch>, refs/tags/<tag> or refs/remotes/<remote>'),
  default_branch: z.string().min(1),
  commit_info: z.object({
    url: z.string(),
    message: z.string(),
    date: z.string(),
    author: gitUser.optional(),
    committer: gitUser.optional(),
  }).optional(),
});

export const TOKEN_USER = '$token';

export const customGitHandler: ServiceHandler = {
  async verify(input, secret) {
    const creds = parseBasic(header(input, 'authorization'));
    if (!creds) throw unauthenticated(`the request carries no credentials: use the webhook URL with ${TOKEN_USER}:<secret>@ (Basic auth)`);
    if (creds.username !== TOKEN_USER || !sameSecret(creds.password, secret)) throw forbidden('the webhook credentials are not this trigger\'s');
  },

  parse(input, trigger) {
    if (mediaType(input) !== 'application/json') {
      throw invalid('Content-Type', `the payload must be sent as Content-Type: application/json (got ${header(input, 'content-type') ?? 'none'})`);
    }
    const parsed = customPayload.safeParse(jsonBody(input));
    if (!parsed.success) throw payloadError(parsed.error.issues[0]!);
    const p = parsed.data;
    const metadata: TriggerMetadata = {
      commit: p.commit.toLowerCase(),
      ref: p.ref,
      default_branch: p.default_branch,
      git_url: trigger.config.build_source!,
      ...(p.commit_info ? { commit_info: p.commit_info } : {}),
    };
    return { kind: 'push', metadata };
  },
};
