// Real git for tests: bare repositories, working copies, commits and pushes, run with an
// environment that ignores the machine's and the user's git configuration.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describeResult, runCommand, type CommandResult } from './run-command.js';

export const GIT_AUTHOR = { name: 'Ada Lovelace', email: 'ada@example.com' };

/** A folder of test repositories, removed by dispose(). */
export interface GitSandbox {
  root: string;
  /** Env for git commands: no system or global config, a fixed author. */
  env: NodeJS.ProcessEnv;
  /** Runs git in `cwd`; resolves with the whole result (the caller checks it). */
  run(cwd: string, args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CommandResult>;
  /** Runs git in `cwd` and resolves with trimmed stdout; throws with everything printed on failure. */
  git(cwd: string, args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<string>;
  /** A bare repository `<root>/<name>.git` whose HEAD names `defaultBranch`. */
  bare(name: string, defaultBranch?: string): Promise<string>;
  /** A working copy `<root>/<name>` on `branch`, its origin set to `remote` when given. */
  work(name: string, branch?: string, remote?: string): Promise<string>;
  /** Writes the files (paths relative to the work tree), commits them all and resolves with the commit's SHA. */
  commit(work: string, files: Record<string, string>, message: string): Promise<string>;
  /** Writes a private key for ssh (mode 0600) and resolves with a GIT_SSH_COMMAND using only it. */
  sshCommand(privateKey: string, knownHostsLine?: string): string;
  dispose(): void;
}

export function createGitSandbox(): GitSandbox {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-git-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: GIT_AUTHOR.name,
    GIT_AUTHOR_EMAIL: GIT_AUTHOR.email,
    GIT_COMMITTER_NAME: GIT_AUTHOR.name,
    GIT_COMMITTER_EMAIL: GIT_AUTHOR.email,
  };
  let keys = 0;
  const run = (cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runCommand('git', args, { cwd, env: { ...env, ...extraEnv }, timeoutMs: 120_000 });
  const git = async (cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const r = await run(cwd, args, extraEnv);
    if (r.code !== 0) throw new Error(describeResult(`git ${args.join(' ')}`, r));
    return r.stdout.trim();
  };
  return {
    root,
    env,
    run,
    git,
    async bare(name, defaultBranch = 'main') {
      const dir = path.join(root, `${name}.git`);
      await git(root, ['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, dir]);
      return dir;
    },
    async work(name, branch = 'main', remote) {
      const dir = path.join(root, name);
      await git(root, ['init', '--quiet', `--initial-branch=${branch}`, dir]);
      if (remote) await git(dir, ['remote', 'add', 'origin', remote]);
      return dir;
    },
    async commit(work, files, message) {
      for (const [rel, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
        writeFileSync(path.join(work, rel), content);
      }
      await git(work, ['add', '--all']);
      await git(work, ['commit', '--quiet', '--allow-empty', '-m', message]);
      return git(work, ['rev-parse', 'HEAD']);
    },
    sshCommand(privateKey, knownHostsLine) {
      const keyFile = path.join(root, `id-${keys++}`);
      writeFileSync(keyFile, privateKey, { mode: 0o600 });
      chmodSync(keyFile, 0o600);
      let hostCheck = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null';
      if (knownHostsLine) {
        const known = `${keyFile}.known_hosts`;
        writeFileSync(known, knownHostsLine + '\n');
        hostCheck = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${known}`;
      }
      return `ssh -F /dev/null -i ${keyFile} -o IdentitiesOnly=yes -o BatchMode=yes ${hostCheck}`;
    },
    dispose() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface GitHttpServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Requests seen, as `METHOD path` (to tell which protocol and requests git used). */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * git's own smart-HTTP server (`git http-backend`, run as CGI per request) for the bare
 * repositories under `root`; with `password`, it asks for Basic `git:<password>` as a hosted
 * git server would. Listens on 127.0.0.1 and stops with its port.
 */
export async function startGitHttp(root: string, password?: string): Promise<GitHttpServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (password && req.headers.authorization !== `Basic ${Buffer.from(`git:${password}`).toString('base64')}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required\n');
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
        REQUEST_METHOD: req.method ?? 'GET', PATH_INFO: decodeURIComponent(url.pathname), QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    // A CGI answer: header lines, a blank line, the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => {
      if (!headersDone) res.writeHead(500).end('git http-backend failed\n');
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
