// The accounts and images that build tests start from: user alice owning organizations `library`
// and `acme`; `library/busybox` holding a busybox base image pushed by alice; private `acme/app`
// readable by the robot `acme+reader`; podman logged in as alice.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createClients, mustSucceed, type Clients } from './clients.js';
import { startPodmanService, type PodmanService } from './podman-service.js';
import type { TestServer } from './server.js';

export const ALICE = { user: 'alice', password: 'alice-password-1' };

export interface BuildWorld {
  clients: Clients;
  /** The token of `acme+reader`, which may read `acme/app`. */
  readerToken: string;
}

export async function seedBuildWorld(server: TestServer, opts: { busybox: 'public' | 'private' } = { busybox: 'public' }): Promise<BuildWorld> {
  const admin = (...args: string[]) => server.cli('admin', ...args);
  await admin('create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  await admin('create-org', 'library', '--owner', ALICE.user);
  await admin('create-org', 'acme', '--owner', ALICE.user);
  await admin('create-repo', 'library/busybox', `--${opts.busybox}`);
  await admin('create-repo', 'acme/app', '--private');
  const readerToken = await admin('create-robot', 'acme+reader');
  await admin('grant', 'acme/app', 'acme+reader', 'read');
  const clients = createClients([server.host]);
  mustSucceed('podman login as alice', await clients.podmanLogin(server.host, ALICE.user, ALICE.password));
  const base = await clients.makeBaseImage();
  mustSucceed('podman push library/busybox', await clients.podman(['push', base, `${server.host}/library/busybox:latest`]));
  return { clients, readerToken };
}

/**
 * Starts a Podman API service and restarts the server with builds pointed at it (one worker).
 * The order matters: the service must trust the server's address, and the server must know the service.
 */
export async function enableBuilds(server: TestServer): Promise<PodmanService> {
  const service = await startPodmanService([server.host]);
  writeFileSync(path.join(server.dataDir, 'config.yaml'), toYaml({
    LOG_LEVEL: 'warn',
    FEATURE_BUILD_SUPPORT: true,
    BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1 },
    EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'local', PODMAN_HOST: service.host }],
  }));
  await server.restart();
  return service;
}
