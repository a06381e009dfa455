import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKeys, resolveSecretKey } from '../../src/auth/secret-key.js';
import { generateRobotToken, hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { isNamespaceName, splitRepositoryPath, splitRobotName } from '../../src/auth/names.js';

describe('secrets', () => {
  it('encrypts so that only the same key decrypts, and detects tampering', () => {
    const a = createKeys('a'.repeat(40));
    const b = createKeys('b'.repeat(40));
    const sealed = a.encrypt('robot-token');
    assert.notEqual(sealed, a.encrypt('robot-token'), 'a fresh IV each time');
    assert.ok(!sealed.includes('robot-token'));
    assert.equal(a.decrypt(sealed), 'robot-token');
    assert.throws(() => b.decrypt(sealed));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('xxxxxxxxxxx').toString('base64url');
    assert.throws(() => a.decrypt(parts.join('.')));
  });

  it('generates a secret key once and reuses it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-key-'));
    const first = resolveSecretKey(undefined, dir);
    assert.ok(first.length >= 40);
    assert.equal(resolveSecretKey(undefined, dir), first);
    assert.equal(resolveSecretKey('configured-key-of-enough-length-000000', dir), 'configured-key-of-enough-length-000000');
  });

  it('hashes passwords slowly and salted, and verifies them', async () => {
    const h1 = await hashPassword('correct horse');
    const h2 = await hashPassword('correct horse');
    assert.notEqual(h1, h2);
    assert.match(h1, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', h1), true);
    assert.equal(await verifyPassword('wrong horse', h1), false);
    assert.equal(await verifyPassword('x', null), false);
  });

  it('makes robot tokens like Quay does', () => {
    const t = generateRobotToken();
    assert.match(t, /^[A-Z0-9]{64}$/);
    assert.notEqual(t, generateRobotToken());
  });
});

describe('names', () => {
  it('accepts and refuses namespaces, repositories and robots by the grammar', () => {
    assert.ok(isNamespaceName('acme'));
    assert.ok(isNamespaceName('my-org.io'));
    for (const bad of ['A', 'a', 'Acme', '-acme', 'acme-', 'ac me', 'a'.repeat(256)]) assert.ok(!isNamespaceName(bad), bad);
    assert.deepEqual(splitRepositoryPath('acme/app'), { namespace: 'acme', repository: 'app' });
    assert.deepEqual(splitRepositoryPath('acme/team/app'), { namespace: 'acme', repository: 'team/app' });
    for (const bad of ['app', 'acme/App', 'acme/', '/app', 'acme//app', 'acme/app/']) assert.equal(splitRepositoryPath(bad), null, bad);
    assert.deepEqual(splitRobotName('acme+ci_bot'), { namespace: 'acme', short: 'ci_bot' });
    for (const bad of ['acme', 'acme+', 'acme+1bot', 'acme+Bot', '+bot']) assert.equal(splitRobotName(bad), null, bad);
  });
});
