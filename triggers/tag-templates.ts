// Which tags a triggered build pushes (Quay's BuildTriggerHandler._determine_tags): the rendered
// tag templates, then the branch or tag name, then `latest` on the default branch, and the short
// SHA when nothing else applies. Unlike Quay, every tag is made a valid tag name.
import type { CommitInfo, TriggerMetadata } from './trigger-metadata.js';

/**
 * Every variable a template may name: Quay's metadata schema plus the two values it adds while
 * rendering (commit_info.short_sha, parsed_ref). `committer.properties.username` is how Quay's
 * guide (7.2) spells the committer's username; it is kept so that templates copied from it work.
 */
const VARIABLES: Record<string, (m: RenderData) => unknown> = {
  commit: (m) => m.commit,
  ref: (m) => m.ref,
  default_branch: (m) => m.default_branch,
  git_url: (m) => m.git_url,
  'parsed_ref.branch': (m) => m.parsed_ref.branch,
  'parsed_ref.tag': (m) => m.parsed_ref.tag,
  'parsed_ref.remote': (m) => m.parsed_ref.remote,
  'commit_info.short_sha': (m) => m.commit_info.short_sha,
  'commit_info.url': (m) => m.commit_info.url,
  'commit_info.message': (m) => m.commit_info.message,
  'commit_info.date': (m) => m.commit_info.date,
  'commit_info.author.username': (m) => m.commit_info.author?.username,
  'commit_info.author.url': (m) => m.commit_info.author?.url,
  'commit_info.author.avatar_url': (m) => m.commit_info.author?.avatar_url,
  'commit_info.committer.username': (m) => m.commit_info.committer?.username,
  'commit_info.committer.url': (m) => m.commit_info.committer?.url,
  'commit_info.committer.avatar_url': (m) => m.commit_info.committer?.avatar_url,
  'committer.properties.username': (m) => m.commit_info.committer?.username,
};

export const TEMPLATE_VARIABLES: readonly string[] = Object.keys(VARIABLES);

type RenderData = Omit<TriggerMetadata, 'commit_info'> & { parsed_ref: ParsedRef; commit_info: Partial<CommitInfo> & { short_sha: string } };

export interface ParsedRef {
  branch?: string;
  tag?: string;
  remote?: string;
}

/** `refs/heads/a/b` → { branch: 'a/b' }; `refs/tags/v1` → { tag: 'v1' }; `refs/remotes/origin/x` → { remote: 'origin/x' }. */
export function parseRef(ref: string | undefined): ParsedRef {
  const m = ref ? /^refs\/(heads|tags|remotes)\/(.+)$/.exec(ref) : null;
  if (!m) return {};
  const kind = m[1] === 'heads' ? 'branch' : m[1] === 'tags' ? 'tag' : 'remote';
  return { [kind]: m[2]! };
}

type Piece = { text: string } | { variable: string };

/** Splits a template into text and `${variable}` pieces; throws a message naming what is wrong. */
function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let rest = template;
  for (;;) {
    const open = rest.indexOf('${');
    if (open < 0) break;
    const close = rest.indexOf('}', open);
    if (close < 0) throw new Error(`"${template}" opens \${ without closing it`);
    if (open > 0) pieces.push({ text: rest.slice(0, open) });
    const variable = rest.slice(open + 2, close).trim();
    if (!(variable in VARIABLES)) {
      throw new Error(`"${template}" names ${variable ? `an unknown variable \${${variable}}` : 'an empty variable ${}'}; known: ${TEMPLATE_VARIABLES.join(', ')}`);
    }
    pieces.push({ variable });
    rest = rest.slice(close + 1);
  }
  if (rest) pieces.push({ text: rest });
  return pieces;
}

/** Null when the template is usable, otherwise why not (for refusing it when the trigger is saved). */
export function templateProblem(template: string): string | null {
  try {
    const pieces = parseTemplate(template);
    if (pieces.length === 0) return 'a tag template must not be empty';
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Makes a string a valid tag name (`[\w][\w.-]{0,127}`); null when nothing of it is left. */
export function toTagName(raw: string): string | null {
  const tag = raw.replace(/[^\w.-]/g, '_').replace(/^[.-]+/, '').slice(0, 128);
  return tag === '' ? null : tag;
}

/** The template filled in, or null when a value it names is missing from this push (Quay drops it then). */
export function renderTemplate(template: string, metadata: TriggerMetadata): string | null {
  const data = renderData(metadata);
  let out = '';
  for (const piece of parseTemplate(template)) {
    if ('text' in piece) {
      out += piece.text;
      continue;
    }
    const value = VARIABLES[piece.variable]!(data);
    if (value === undefined || value === null || value === '') return null;
    out += String(value);
  }
  return toTagName(out);
}

function renderData(m: TriggerMetadata): RenderData {
  return { ...m, parsed_ref: parseRef(m.ref), commit_info: { ...m.commit_info, short_sha: m.commit.slice(0, 7) } };
}

export interface TaggingConfig {
  tag_templates?: string[];
  default_tag_from_ref?: boolean;
  latest_for_default_branch?: boolean;
}

/** The build's tags, in order, without repeats. */
export function determineTags(config: TaggingConfig, metadata: TriggerMetadata): string[] {
  const tags = new Set<string>();
  for (const template of config.tag_templates ?? []) {
    const tag = renderTemplate(template, metadata);
    if (tag) tags.add(tag);
  }
  const ref = parseRef(metadata.ref);
  const name = ref.branch ?? ref.tag ?? ref.remote;
  if (name !== undefined && config.default_tag_from_ref !== false) {
    const tag = toTagName(name);
    if (tag) tags.add(tag);
  }
  if (ref.branch !== undefined && config.latest_for_default_branch !== false && ref.branch === metadata.default_branch) tags.add('latest');
  if (tags.size === 0) tags.add(metadata.commit.slice(0, 7));
  return [...tags];
}
