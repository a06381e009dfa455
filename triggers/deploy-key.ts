// A trigger's deploy key: the pair whose public half the user installs on their git server and
// whose private half (stored encrypted) fetches the trigger's sources over SSH.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DeployKey {
  /** One OpenSSH authorized_keys line: `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
  /** The private key in OpenSSH's own format, which `ssh -i` reads. */
  privateKey: string;
}

/**
 * Generates an ed25519 pair with ssh-keygen. ed25519 rather than Quay's RSA-2048: shorter keys,
 * accepted by every OpenSSH since 6.5 and by GitHub/GitLab. ssh-keygen rather than node:crypto
 * because Node cannot write OpenSSH's private key format, and PKCS#8 ed25519 keys are not read by
 * every ssh build. The private key never lives longer on disk than this call.
 */
export async function generateDeployKey(comment: string): Promise<DeployKey> {
  // ssh-keygen would take a newline in the comment into the key file and break the line format.
  const safeComment = comment.replace(/[\r\n]+/g, ' ').trim() || 'slipway-deploy-key';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-deploy-key-'));
  const file = path.join(dir, 'key');
  try {
    try {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', safeComment, '-f', file], { timeout: 30_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('cannot generate a deploy key: ssh-keygen is not installed (Debian: openssh-client)');
      throw new Error(`ssh-keygen failed to generate a deploy key: ${(e.stderr ?? e.message).trim()}`);
    }
    const [privateKey, publicKey] = await Promise.all([readFile(file, 'utf8'), readFile(`${file}.pub`, 'utf8')]);
    return { publicKey: publicKey.trim(), privateKey };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
