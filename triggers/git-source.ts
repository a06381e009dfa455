// Fetches a triggered build's source: exactly one commit of the trigger's git repository, over SSH
// with the trigger's deploy key or over HTTPS, submodules included, packed into a context tar with
// the same path rules and safety checks as uploads. Also resolves a branch or tag to its commit.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { Db } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import { DomainError } from '../src/errors.js';
import { BuildSourceError, type Build } from '../buildman/build-model.js';
import { checkTar, MAX_CONTEXT_BYTES, packContext } from '../buildman/context.js';
import { triggerDeployKey } from './trigger-store.js';

export interface GitSourceDeps {
  db: Db;
  keys: Keys;
  /** Where checkouts are made (removed after each fetch) and context tars are written. */
  workDir: string;
  log: Logger;
  /**
   * A known_hosts file to pin git servers' host keys; without it any host key is accepted (see
   * hostKeyOptions for why that is safe enough for fetching a commit named by its SHA).
   */
  knownHostsFile?: string;
}

/**
 * Last resort against a stuck git: ssh's keep-alives and http's low-speed limit catch dead
 * servers sooner, and a quiet fetch of a large repository prints nothing for minutes.
 */
const STALL_MS = 60 * 60_000;
const LS_REMOTE_MS = 60_000;
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SHORT_SHA = /^[0-9a-f]{7,64}$/;

/** ssh://, git+ssh://, ssh+git:// or scp-like `user@host:path`; everything else is not SSH. */
export function isSshUrl(url: string): boolean {
  if (/^(?:ssh|git\+ssh|ssh\+git):\/\//i.test(url)) return true;
  return !url.includes('://') && /^[^/:]+:/.test(url);
}

/**
 * Known hosts policy. Pinned when the operator gives a known_hosts file. Otherwise any host key is
 * accepted, and nothing is remembered: a commit is fetched by its full SHA and git checks that the
 * objects hash to it, so an impostor cannot substitute content; public-key authentication never
 * shows the private key to the server; and the deploy key is read-only. What an impostor could do
 * is refuse service, which a retry or the operator's pinning answers.
 */
function hostKeyOptions(knownHostsFile?: string): string {
  return knownHostsFile
    ? `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${shellQuote(knownHostsFile)}`
    : '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';
}

/** A build's error is shown to everyone who may read the repository: no credentials from an https URL in it. */
export function redact(text: string): string {
  // An https URL's whole userinfo may be a token (https://TOKEN@host/…); an ssh URL's user name is not secret.
  return text.replace(/\b(https?:\/\/)[^\s/@]+@/gi, '$1***@').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]+@/gi, '$1:***@');
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const GUARDED_ENV = ['GIT_SSH_COMMAND', 'GIT_TERMINAL_PROMPT', 'GIT_ALLOW_PROTOCOL', 'GIT_HTTP_LOW_SPEED_LIMIT', 'GIT_HTTP_LOW_SPEED_TIME', 'GIT_LFS_SKIP_SMUDGE'];

/** A git client in `dir` that uses only the deploy key (when given) and never prompts. */
async function gitClient(dir: string, scratch: string, signal: AbortSignal, privateKey: string | undefined, knownHostsFile?: string, stallMs = STALL_MS): Promise<SimpleGit> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) {
    if (process.env[k] !== undefined) env[k] = process.env[k]!;
  }
  // Submodules must not reach the server's own disk (file://) nor run commands (ext::).
  env.GIT_ALLOW_PROTOCOL = 'ssh:https:http:git';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_HTTP_LOW_SPEED_LIMIT = '1';
  env.GIT_HTTP_LOW_SPEED_TIME = '120';
  env.GIT_LFS_SKIP_SMUDGE = '1';
  // BatchMode: a key that is refused fails at once instead of asking for a password.
  let ssh = `ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 ${hostKeyOptions(knownHostsFile)}`;
  if (privateKey) {
    const keyFile = path.join(scratch, 'deploy-key');
    await writeFile(keyFile, privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    ssh += ` -i ${shellQuote(keyFile)} -o IdentitiesOnly=yes -o IdentityAgent=none`;
  }
  env.GIT_SSH_COMMAND = ssh;
  // The ssh command is ours alone (no user input reaches it but the quoted key path): simple-git's
  // guard against injected ssh commands is lifted for it.
  return simpleGit({ baseDir: dir, abort: signal, allowEnvironment: GUARDED_ENV, unsafe: { allowUnsafeSshCommand: true }, timeout: { block: stallMs } }).env(env);
}

const SOURCE_FAULTS: [RegExp, string][] = [
  [/Permission denied \(publickey/i, 'the git server refused the trigger\'s deploy key: give its public key read access to the repository'],
  [/Authentication failed|could not read Username|returned error: 40[13]/i, 'the git server wants credentials: use the ssh URL (with the deploy key), or put a read token in the https URL'],
  [/does not appear to be a git repository|Repository not found|repository '.*' not found|returned error: 404/i, 'the git server has no such repository'],
  [/not our ref|unadvertised object|couldn't find remote ref|no such remote ref|did not contain|reference is not a tree|unable to read tree/i, 'the commit is not in the repository'],
  [/transport '[^']*' not allowed/i, 'only ssh, https, http and git URLs may be fetched (submodules included)'],
];
const NETWORK_FAULTS = /Could not resolve host|Connection refused|Connection timed out|Network is unreachable|No route to host|Connection reset|timed out|kex_exchange_identification|Connection closed by|early EOF|hung up unexpectedly|RPC failed|returned error: 5\d\d|Host key verification failed|SSL certificate|SSL_|TLS connection|gnutls/i;

/** Turns a git failure into BuildSourceError (the source's fault) or a plain Error (retried). */
function classify(err: unknown, what: string, signal: AbortSignal): Error {
  if (signal.aborted) return new Error(`${what} was aborted`);
  const message = redact((err instanceof Error ? err.message : String(err)).trim());
  // git's closing boilerplate ("Please make sure you have the correct access rights…") says nothing.
  const detail = message.split('\n').map((l) => l.trim()).filter((l) => l && !/^(?:Please make sure|and the repository exists)/.test(l)).slice(0, 3).join(' / ');
  for (const [pattern, reason] of SOURCE_FAULTS) {
    if (pattern.test(message)) return new BuildSourceError(`${what} failed: ${reason} (${detail})`);
  }
  if (NETWORK_FAULTS.test(message)) return new Error(`${what} failed, will retry: ${detail}`);
  return new Error(`${what} failed: ${detail}`);
}

const isNetworkFault = (err: unknown) => !(err instanceof BuildSourceError) && NETWORK_FAULTS.test(err instanceof Error ? err.message : String(err));

/** Brings `commit` into `dir` (an empty folder) and checks it out with its submodules; says whether the fetch was shallow. */
async function checkoutCommit(git: SimpleGit, dir: string, url: string, shownUrl: string, commit: string, signal: AbortSignal, log: Logger): Promise<{ shallow: boolean }> {
  const run = async (what: string, args: string[]) => {
    try {
      return await git.raw(args);
    } catch (err) {
      throw classify(err, what, signal);
    }
  };
  await run('git init', ['init', '--quiet', '.']);
  await run('git remote add', ['remote', 'add', 'origin', url]);
  let fetched = false;
  if (FULL_SHA.test(commit)) {
    // Served only when the server allows fetching by SHA (protocol v2, or the commit is a branch or
    // tag tip, or uploadpack.allow*SHA1InWant); anything else but a network failure falls back.
    try {
      await run(`fetching ${commit.slice(0, 12)} from ${shownUrl}`, ['fetch', '--quiet', '--no-tags', '--depth', '1', 'origin', commit]);
      fetched = true;
    } catch (err) {
      if (isNetworkFault(err) || signal.aborted) throw err;
      log.debug({ err: redact((err as Error).message) }, 'shallow fetch by SHA refused; fetching every branch and tag');
    }
  }
  if (!fetched) {
    await run(`fetching ${shownUrl}`, ['fetch', '--quiet', '--no-tags', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
  }
  let sha: string;
  try {
    sha = (await git.raw(['rev-parse', '--verify', '--quiet', `${commit}^{commit}`])).trim();
  } catch {
    sha = '';
  }
  if (!sha) throw new BuildSourceError(`commit ${commit} is not in ${shownUrl}`);
  await run(`checking out ${sha.slice(0, 12)}`, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--force', '--detach', sha]);
  const gitmodules = await stat(path.join(dir, '.gitmodules')).catch(() => null);
  if (gitmodules?.isFile()) {
    await run('fetching the submodules', ['submodule', 'update', '--init', '--recursive', '--checkout', '--force']);
  }
  return { shallow: fetched };
}

/** git's own metadata (.git folders, and the .git files of submodules) is not part of the context. */
async function removeGitMetadata(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.name === '.git') await rm(p, { recursive: true, force: true });
    else if (entry.isDirectory()) await removeGitMetadata(p);
  }
}

export type GitSourceFetcher = (build: Build, signal: AbortSignal) => Promise<string>;

export function createGitSourceFetcher(deps: GitSourceDeps): GitSourceFetcher {
  return async function fetchGitSource(build, signal) {
    const source = build.source;
    if (source.kind !== 'git') throw new Error(`build ${build.uuid} has a ${source.kind} source, not git`);
    const commit = source.commit.toLowerCase();
    if (!SHORT_SHA.test(commit)) throw new BuildSourceError(`"${source.commit}" is not a commit SHA`);
    // A URL starting with "-" would be read by git as an option.
    if (!source.url || source.url.startsWith('-')) throw new BuildSourceError(`"${redact(source.url)}" is not a clone URL`);
    const privateKey = (await triggerDeployKey(deps.db, deps.keys, source.triggerId)) ?? undefined;
    if (!privateKey && isSshUrl(source.url)) throw new BuildSourceError(`trigger ${source.triggerId} has no deploy key to fetch ${redact(source.url)} over SSH (is it activated?)`);
    await mkdir(deps.workDir, { recursive: true });
    const scratch = await mkdtemp(path.join(deps.workDir, 'git-'));
    const tarPath = path.join(deps.workDir, `${randomUUID()}.tar`);
    const url = redact(source.url);
    const log = deps.log.child({ build: build.uuid, url, commit });
    try {
      const tree = path.join(scratch, 'tree');
      await mkdir(tree);
      const git = await gitClient(tree, scratch, signal, privateKey, deps.knownHostsFile);
      const { shallow } = await checkoutCommit(git, tree, source.url, url, commit, signal, log);
      await removeGitMetadata(tree);
      if (signal.aborted) throw new Error('fetching the source was aborted');
      const context = build.context.replace(/^\/+/, '');
      const dockerfile = path.posix.join(context || '.', build.dockerfilePath);
      try {
        await packContext(tree, { context, dockerfile_path: dockerfile }, tarPath, `commit ${commit.slice(0, 12)}`);
        const { size } = await stat(tarPath);
        if (size > MAX_CONTEXT_BYTES) throw new BuildSourceError(`the build context of commit ${commit.slice(0, 12)} is larger than ${MAX_CONTEXT_BYTES} bytes, the most an upload may be`);
        await checkTar(tarPath);
      } catch (err) {
        if (err instanceof DomainError) throw new BuildSourceError(err.message);
        throw err;
      }
      log.info({ shallow }, 'fetched the git source');
      return tarPath;
    } catch (err) {
      await rm(tarPath, { force: true });
      throw err;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };
}

/**
 * The commit a branch or tag names on the server (`git ls-remote`): `refs/…` exactly, otherwise a
 * branch first, then a tag; an annotated tag gives the commit it points at. An unknown ref or a
 * refused key throws BuildSourceError, a network failure a plain Error.
 */
export async function resolveRef(opts: { url: string; ref: string; privateKey?: string }): Promise<string> {
  if (!opts.url || opts.url.startsWith('-')) throw new BuildSourceError(`"${redact(opts.url)}" is not a clone URL`);
  if (!opts.ref || opts.ref.startsWith('-') || /[\s~^:?*[\\]/.test(opts.ref)) throw new BuildSourceError(`"${opts.ref}" is not a branch or tag name`);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'slipway-ls-remote-'));
  try {
    // Someone waits on the answer ("run now"): a minute is plenty for listing refs.
    const signal = AbortSignal.timeout(LS_REMOTE_MS);
    const git = await gitClient(scratch, scratch, signal, opts.privateKey, undefined, LS_REMOTE_MS);
    let out: string;
    try {
      out = await git.raw(['ls-remote', '--', opts.url]);
    } catch (err) {
      throw classify(err, `listing the refs of ${redact(opts.url)}`, signal);
    }
    const refs = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [sha, name] = line.trim().split(/\s+/);
      if (sha && name) refs.set(name, sha);
    }
    const candidates = opts.ref.startsWith('refs/') || opts.ref === 'HEAD' ? [opts.ref] : [`refs/heads/${opts.ref}`, `refs/tags/${opts.ref}`];
    for (const name of candidates) {
      const sha = refs.get(`${name}^{}`) ?? refs.get(name);
      if (sha) return sha;
    }
    throw new BuildSourceError(`${redact(opts.url)} has no branch or tag ${opts.ref}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
