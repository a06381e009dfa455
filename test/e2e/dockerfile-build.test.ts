// Issue 4 end to end: a Dockerfile uploaded through the API builds in a real Podman API service,
// a WebSocket watcher sees every phase and the RUN output live, and a robot pulls the tags.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { stringify as toYaml } from 'yaml';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { startPodmanService, type PodmanService } from '../support/podman-service.js';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const FINAL = ['complete', 'error', 'internalerror', 'cancelled', 'expired'];

describe(`a Dockerfile build through the API with Podman (${TEST_DB})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  let service: PodmanService;
  let clients: Clients;
  let readerToken = '';
  const api = '/api/v1/repository/acme/app';

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    await admin('create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await admin('create-org', 'library', '--owner', ALICE.user);
    await admin('create-org', 'acme', '--owner', ALICE.user);
    await admin('create-repo', 'library/busybox', '--public');
    await admin('create-repo', 'acme/app', '--private');
    readerToken = await admin('create-robot', 'acme+reader');
    await admin('grant', 'acme/app', 'acme+reader', 'read');
    clients = createClients([server.host]);
    mustSucceed('podman login', await clients.podmanLogin(server.host, ALICE.user, ALICE.password));
    const base = await clients.makeBaseImage();
    mustSucceed('push the base image', await clients.podman(['push', base, `${server.host}/library/busybox:latest`]));
    // The Podman service must trust the server's address, and the server must know the service:
    // start the server, then the service, then restart the server with builds pointed at it.
    service = await startPodmanService([server.host]);
    writeFileSync(path.join(server.dataDir, 'config.yaml'), toYaml({
      LOG_LEVEL: 'warn',
      FEATURE_BUILD_SUPPORT: true,
      BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1 },
      EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'local', PODMAN_HOST: service.host }],
    }));
    await server.restart();
  });
  after(async () => {
    await service?.stop();
    clients?.dispose();
    await server?.stop();
  });

  it('builds, streams phases and RUN output live, and a robot pulls every tag', async () => {
    const dockerfile = `FROM ${server.host}/library/busybox:latest\nRUN echo hello-from-run > /greeting && cat /greeting\n`;
    const form = new FormData();
    form.append('docker_tags', 'v1,latest');
    form.append('file', new Blob([dockerfile]), 'Dockerfile');
    const res = await fetch(`${server.url}${api}/build/`, { method: 'POST', headers: { authorization: basic(ALICE.user, ALICE.password) }, body: form });
    const started = (await res.json()) as { id: string };
    assert.equal(res.status, 201, JSON.stringify(started));

    const messages: { seq?: number; type?: string; message?: string; phase?: string; final?: boolean }[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${api}/build/${started.id}/logs/stream?since=0`, {
        headers: { authorization: basic(ALICE.user, ALICE.password) },
      });
      ws.on('message', (d) => messages.push(JSON.parse(String(d))));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    const end = messages.at(-1)!;
    const view = (await (await fetch(`${server.url}${api}/build/${started.id}`, { headers: { authorization: basic(ALICE.user, ALICE.password) } })).json()) as {
      phase: string; error: string | null; manifest_digests: string[];
    };
    assert.equal(view.phase, 'complete', `build ended ${view.phase}: ${view.error}\n${messages.map((m) => m.message ?? m.phase).join('\n')}`);
    assert.equal(end.final, true);
    assert.ok(FINAL.includes(end.phase!));
    const phases = messages.filter((m) => m.type === 'phase').map((m) => m.message);
    for (const p of ['building', 'pushing']) assert.ok(phases.some((x) => x?.includes(p)), `phase ${p} streamed: ${phases.join(', ')}`);
    assert.ok(messages.some((m) => m.type === 'command' && /RUN echo hello-from-run/.test(m.message ?? '')), 'the RUN step is a command line');
    assert.ok(messages.some((m) => m.type !== 'command' && /^hello-from-run$/m.test(m.message ?? '')), 'the RUN output streamed');

    for (const tag of ['v1', 'latest']) {
      const inspect = mustSucceed(`robot inspects ${tag}`, await clients.skopeo([
        'inspect', '--format', '{{.Digest}}', '--creds', `acme+reader:${readerToken}`, `docker://${server.host}/acme/app:${tag}`,
      ]));
      assert.equal(inspect.stdout.trim(), view.manifest_digests[0], `tag ${tag} points at the built manifest`);
    }
  });
});
