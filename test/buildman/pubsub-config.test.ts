// BUILD_MANAGER.PUBSUB: the default needs no config; a bad value stops start-up naming its key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { stringify as toYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { openPubSubTransport } from '../../buildman/log-pubsub-config.js';
import { freePort, REPO_ROOT, TEST_DB } from '../support/server.js';

const execFileP = promisify(execFile);

function withConfig<T>(config: Record<string, unknown>, fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-pubsub-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, toYaml(config));
  try {
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rejects(config: Record<string, unknown>, key: string, env: NodeJS.ProcessEnv = {}): void {
  withConfig(config, (file) => {
    assert.throws(() => loadConfig({ file, env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`^  ${key.replace(/\./g, '\\.')}: `, 'm'));
      return true;
    });
  });
}

describe(`BUILD_MANAGER.PUBSUB configuration (${TEST_DB})`, () => {
  it('is in-process with no configuration at all', () => {
    assert.deepEqual(loadConfig({ env: {} }).BUILD_MANAGER.PUBSUB, { TYPE: 'inprocess' });
  });

  it('takes redis with a URL, and postgres on a PostgreSQL database; the channel prefix defaults to slipway', () => {
    const redis = withConfig({ BUILD_MANAGER: { PUBSUB: { TYPE: 'redis', REDIS_URL: 'redis://:secret@cache:6379/2' } } }, (file) => loadConfig({ file, env: {} }));
    assert.deepEqual(redis.BUILD_MANAGER.PUBSUB, { TYPE: 'redis', REDIS_URL: 'redis://:secret@cache:6379/2', CHANNEL_PREFIX: 'slipway' });
    const pg = withConfig({ BUILD_MANAGER: { PUBSUB: { TYPE: 'postgres', CHANNEL_PREFIX: 'prod_eu' } } }, (file) => loadConfig({ file, env: { DATABASE_URL: 'postgres://u@db/slipway' } }));
    assert.deepEqual(pg.BUILD_MANAGER.PUBSUB, { TYPE: 'postgres', CHANNEL_PREFIX: 'prod_eu' });
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['an unknown TYPE', { TYPE: 'kafka' }, 'BUILD_MANAGER.PUBSUB.TYPE'],
    ['redis without REDIS_URL', { TYPE: 'redis' }, 'BUILD_MANAGER.PUBSUB.REDIS_URL'],
    ['a REDIS_URL that is not redis://', { TYPE: 'redis', REDIS_URL: 'http://cache:6379' }, 'BUILD_MANAGER.PUBSUB.REDIS_URL'],
    ['REDIS_URL with another TYPE', { TYPE: 'inprocess', REDIS_URL: 'redis://cache' }, 'BUILD_MANAGER.PUBSUB.REDIS_URL'],
    ['a channel prefix PostgreSQL cannot name a channel with', { TYPE: 'postgres', CHANNEL_PREFIX: 'Has-Dashes' }, 'BUILD_MANAGER.PUBSUB.CHANNEL_PREFIX'],
    ['postgres on SQLite', { TYPE: 'postgres' }, 'BUILD_MANAGER.PUBSUB.TYPE'],
  ];
  for (const [what, pubsub, key] of bad) {
    it(`stops on ${what}, naming ${key}`, () => rejects({ BUILD_MANAGER: { PUBSUB: pubsub } }, key, { DATABASE_URL: pubsub.CHANNEL_PREFIX ? 'postgres://u@db/x' : '' }));
  }

  it('stops start-up when Redis does not answer, naming REDIS_URL and hiding its password', async () => {
    const port = await freePort();
    const config = withConfig({ BUILD_MANAGER: { PUBSUB: { TYPE: 'redis', REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` } } }, (file) => loadConfig({ file, env: {} }));
    await assert.rejects(openPubSubTransport(config, pino({ level: 'silent' })), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^BUILD_MANAGER\.PUBSUB\.REDIS_URL: cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });

  it('`slipway serve` with postgres pub/sub on SQLite exits 78 with a message naming the key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-pubsub-config-'));
    try {
      const file = path.join(dir, 'config.yaml');
      writeFileSync(file, toYaml({ FEATURE_BUILD_SUPPORT: true, BUILD_MANAGER: { PUBSUB: { TYPE: 'postgres' } } }));
      const env: NodeJS.ProcessEnv = { ...process.env, SLIPWAY_CONFIG: file, SLIPWAY_DATA_DIR: dir, PORT: String(await freePort()) };
      delete env.DATABASE_URL;
      const run = execFileP(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), 'serve'], { env, timeout: 30_000 });
      await assert.rejects(run, (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 78);
        assert.match(String(err.stderr), /BUILD_MANAGER\.PUBSUB\.TYPE: postgres needs DB_URI/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
