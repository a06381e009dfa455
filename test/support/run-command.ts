// Runs one external command to completion with a deadline, capturing everything it prints.
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; -1 when the command was killed (deadline or signal). */
  code: number;
  stdout: string;
  stderr: string;
  /** True when the deadline passed and the command was killed. */
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed (passwords go here, never into argv). */
  input?: string;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 90_000;

export function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a deadline also ends whatever the command started (conmon, helpers).
    const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // the command may exit without reading stdin
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, timedOut });
    });
  });
}

/** Describes a result for an assertion message: the command line and everything it printed. */
export function describeResult(what: string, r: CommandResult): string {
  return `${what} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}
