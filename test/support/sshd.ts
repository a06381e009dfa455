// OpenSSH's sshd on a free 127.0.0.1 port, as the current user, with its own host key, config and
// authorized_keys file, so tests can serve git repositories over real SSH. Stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.js';
import { runCommand, describeResult } from './run-command.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshServer {
  host: '127.0.0.1';
  port: number;
  /** The login name keys are accepted for (the user running the tests). */
  user: string;
  pid: number;
  /** The host's public key as a known_hosts line for `[127.0.0.1]:PORT`. */
  knownHostsLine: string;
  /** `ssh://USER@127.0.0.1:PORT/ABSOLUTE/PATH` for a repository on this machine. */
  url(absolutePath: string): string;
  /** Lets this public key (one authorized_keys line) log in. */
  authorize(publicKey: string): void;
  /** Everything sshd logged (it logs each accepted and refused key). */
  output(): string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<SshServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: run test/setup.sh (it installs openssh-server)`);
  // Run as root, sshd insists on its privilege-separation folder (Debian's service unit makes it as
  // its RuntimeDirectory); run as anyone else it does without.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const keygen = await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-test-host', '-f', hostKey]);
  if (keygen.code !== 0) throw new Error(describeResult('ssh-keygen (host key)', keygen));
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, '', { mode: 0o600 });
  const port = await freePort();
  const user = os.userInfo().username;
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    // The temp folder's modes are not what StrictModes wants, and PAM would need a system config.
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${user}`,
    'PrintMotd no',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start listening:\n${log}`)), 30_000);
    const check = () => {
      if (/Server listening on/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code} during start-up:\n${log}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return {
    host: '127.0.0.1',
    port,
    user,
    pid: child.pid!,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPub}`,
    url: (p) => `ssh://${user}@127.0.0.1:${port}${p}`,
    authorize(publicKey) {
      appendFileSync(authorizedKeys, publicKey.trim() + '\n');
    },
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
