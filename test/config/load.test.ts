import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load.js';

function fileWith(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config loading', () => {
  it('runs on the embedded default with no config at all', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.PORT, 8080);
    assert.equal(config.LISTEN_ADDRESS, '127.0.0.1');
    assert.equal(config.DATA_DIR, path.resolve('data'));
    assert.equal(config.DB_URI, `sqlite:${path.resolve('data', 'slipway.db')}`);
    assert.equal(config.SERVER_HOSTNAME, '127.0.0.1:8080');
    assert.equal(config.STORAGE.PATH, path.resolve('data', 'storage'));
  });

  it('takes PORT, SLIPWAY_DATA_DIR and DATABASE_URL from the environment', () => {
    const config = loadConfig({ env: { PORT: '9000', SLIPWAY_DATA_DIR: '/tmp/sw', DATABASE_URL: 'postgres://u@h/db' } });
    assert.equal(config.PORT, 9000);
    assert.equal(config.DATA_DIR, '/tmp/sw');
    assert.equal(config.DB_URI, 'postgres://u@h/db');
    assert.equal(config.SERVER_HOSTNAME, '127.0.0.1:9000');
  });

  it('reads a YAML file, the environment winning over it', () => {
    const file = fileWith('PORT: 7000\nSERVER_HOSTNAME: registry.example:443\nFEATURE_ANONYMOUS_ACCESS: false\n');
    const config = loadConfig({ file, env: { PORT: '7001' } });
    assert.equal(config.PORT, 7001);
    assert.equal(config.SERVER_HOSTNAME, 'registry.example:443');
    assert.equal(config.FEATURE_ANONYMOUS_ACCESS, false);
  });

  const bad: [string, string][] = [
    ['PORT: abc\n', 'PORT'],
    ['PORT: 70000\n', 'PORT'],
    ['DB_URI: mysql://x\n', 'DB_URI'],
    ['PREFERRED_URL_SCHEME: ftp\n', 'PREFERRED_URL_SCHEME'],
    ['SECRET_KEY: short\n', 'SECRET_KEY'],
    ['STORAGE:\n  DRIVER: floppy\n', 'STORAGE.DRIVER'],
    ['STORAGE:\n  BOGUS: 1\n', 'STORAGE.BOGUS'],
    ['FEATURE_ANONYMOUS_ACCESS: "maybe"\n', 'FEATURE_ANONYMOUS_ACCESS'],
    ['NOT_A_KEY: 1\n', 'NOT_A_KEY'],
  ];
  for (const [text, key] of bad) {
    it(`stops on a bad value and names ${key}`, () => {
      const file = fileWith(text);
      assert.throws(() => loadConfig({ file, env: {} }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`^  ${key.replace('.', '\\.')}: `, 'm'));
        return true;
      });
    });
  }

  it('names a config file that is not YAML or not a mapping', () => {
    assert.throws(() => loadConfig({ file: fileWith('PORT: [1,\n'), env: {} }), /not valid YAML/);
    assert.throws(() => loadConfig({ file: fileWith('- a\n- b\n'), env: {} }), /must be a mapping/);
    assert.throws(() => loadConfig({ file: '/nonexistent/slipway.yaml', env: {} }), /nonexistent\/slipway\.yaml/);
  });
});
