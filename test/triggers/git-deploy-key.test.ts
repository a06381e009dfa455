// A generated deploy key is what real OpenSSH accepts: its public line goes into a real sshd's
// authorized_keys, and `ssh -i` with its private half logs in; a key not installed is refused.
import assert from 'node:assert/strict';
import { generateDeployKey } from '../../triggers/deploy-key.js';
import { createGitSandbox, type GitSandbox } from '../support/git.js';
import { runCommand, describeResult } from '../support/run-command.js';
import { startSshd, type SshServer } from '../support/sshd.js';

describe('deploy keys against a real sshd', function () {
  this.timeout(120_000);
  let sshd: SshServer;
  let sandbox: GitSandbox;

  before(async () => {
    sshd = await startSshd();
    sandbox = createGitSandbox();
  });
  after(async () => {
    await sshd?.stop();
    sandbox?.dispose();
  });

  const login = (privateKey: string) =>
    runCommand('sh', ['-c', `${sandbox.sshCommand(privateKey, sshd.knownHostsLine)} -p ${sshd.port} ${sshd.user}@127.0.0.1 echo logged-in`], { timeoutMs: 60_000 });

  it('makes one authorized_keys line and a private key that ssh logs in with', async () => {
    const key = await generateDeployKey('slipway trigger 1234');
    assert.match(key.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+ slipway trigger 1234$/);
    assert.doesNotMatch(key.publicKey, /\n/);
    assert.match(key.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
    sshd.authorize(key.publicKey);
    const r = await login(key.privateKey);
    assert.equal(r.code, 0, describeResult('ssh', r));
    assert.equal(r.stdout.trim(), 'logged-in');
  });

  it('gives a different pair each time, and a key not installed is refused', async () => {
    const [a, b] = await Promise.all([generateDeployKey('a'), generateDeployKey('b')]);
    assert.notEqual(a.publicKey.split(' ')[1], b.publicKey.split(' ')[1]);
    const r = await login(b.privateKey);
    assert.notEqual(r.code, 0, describeResult('ssh with a key not installed', r));
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });

  it('keeps a comment with a newline on one line', async () => {
    const key = await generateDeployKey('evil\nssh-ed25519 AAAA injected');
    assert.equal(key.publicKey.split('\n').length, 1);
    assert.match(key.publicKey, / evil ssh-ed25519 AAAA injected$/);
  });
});
