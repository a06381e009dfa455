// A trigger's config, in Quay's keys, checked when it is saved: a template naming an unknown
// variable, a regex that does not compile or a Dockerfile outside its context is refused then,
// not discovered at the first push.
import path from 'node:path';
import { z } from 'zod';
import { invalid } from '../src/errors.js';
import { resolvePaths } from '../buildman/context.js';
import { templateProblem } from './tag-templates.js';

// ssh://, https://, http://, git:// URLs and scp-like `user@host:path`. No file://: a repository
// admin must not be able to build from the server's own disk.
const CLONE_URL = /^(?:(?:ssh|https?|git):\/\/[^\s/]+\/\S*|[\w.-]+@[\w.-]+:\S+)$/;

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern);
    return null;
  } catch (err) {
    return `branchtag_regex does not compile: ${(err as Error).message}`;
  }
}

export const triggerConfigSchema = z.strictObject({
  /** The clone URL builds fetch from (with the trigger's deploy key over SSH). */
  build_source: z.string().max(2048).regex(CLONE_URL, 'must be a clone URL: ssh://, https://, git:// or user@host:path').optional(),
  dockerfile_path: z.string().max(1024).optional(),
  context: z.string().max(1024).optional(),
  branchtag_regex: z.string().min(1).max(1024).superRefine((v, ctx) => {
    const problem = regexProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
  default_tag_from_ref: z.boolean().optional(),
  latest_for_default_branch: z.boolean().optional(),
  tag_templates: z.array(z.string().max(255).superRefine((v, ctx) => {
    const problem = templateProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })).max(50).optional(),
  /** Accepted here as in Quay's activation form; stored as the trigger's pull robot. */
  pull_robot: z.string().min(1).nullish(),
  /** What views show (the credentials); ignored on input so that a view's config can be sent back. */
  credentials: z.unknown().optional(),
});

export type TriggerConfig = Omit<z.output<typeof triggerConfigSchema>, 'credentials' | 'pull_robot'>;

/** Where a triggered build finds its Dockerfile: the context from the repository's root, the Dockerfile inside it. */
export function buildPaths(config: TriggerConfig): { context: string; dockerfilePath: string } {
  const { context, dockerfile } = resolvePaths({ dockerfile_path: config.dockerfile_path, context: config.context });
  const inContext = path.posix.relative(context || '.', dockerfile);
  if (inContext.startsWith('..')) throw invalid('config.dockerfile_path', `the Dockerfile /${dockerfile} lies outside the context /${context}`);
  return { context: `/${context}`, dockerfilePath: inContext };
}

/** The stored config: checked, and without the keys that only travel in requests and views. */
export function storedConfig(config: z.output<typeof triggerConfigSchema>): TriggerConfig {
  const { credentials: _c, pull_robot: _p, ...rest } = config;
  try {
    buildPaths(rest);
  } catch (err) {
    // resolvePaths names the bare field; here it sits under config.
    const e = err as { field?: string };
    if (e.field && !e.field.startsWith('config.')) throw invalid(`config.${e.field}`, (err as Error).message);
    throw err;
  }
  return rest;
}
