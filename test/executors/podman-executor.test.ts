// The Podman executor against a real Podman API service and the real Slipway registry: build a
// context whose base image lives in Slipway, push the result with a robot's credentials, and
// the failures: a failing RUN, an unknown instruction, a cancel, a host that does not answer.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ExecutorJob, ExecutorLogLine, ExecutorOutcome, ExecutorPhase } from '../../executors/executor.js';
import { createExecutors } from '../../executors/index.js';
import { BUILD_LABEL, createPodmanExecutor } from '../../executors/podman/podman-executor.js';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { seedBuildWorld } from '../support/build-world.js';
import { startPodmanService, type PodmanService } from '../support/podman-service.js';
import { describeResult, runCommand } from '../support/run-command.js';
import { freePort, startServer, TEST_DB, type TestServer } from '../support/server.js';



interface Recorded {
  outcome: ExecutorOutcome;
  phases: ExecutorPhase[];
  logs: ExecutorLogLine[];
  ms: number;
}

/** GET on the service's socket; resolves with the parsed JSON body. */
function apiGet<T>(socketPath: string, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: p, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(new Error(`${p}: ${res.statusCode} ${body}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe(`Podman executor with a real Podman API service (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let service: PodmanService;
  let clients: Clients;
  const tokens: Record<string, string> = {};
  let contexts = 0;

  const makeContext = async (files: Record<string, string>): Promise<string> => {
    const dir = path.join(clients.dir, 'build-contexts', String(contexts++));
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text.replaceAll('REGISTRY', server.host));
    const tar = `${dir}.tar`;
    const r = await runCommand('tar', ['-cf', tar, '-C', dir, '.']);
    if (r.code !== 0) throw new Error(describeResult('tar', r));
    return tar;
  };

  const job = (buildId: string, contextTar: string, extra: Partial<ExecutorJob> = {}): ExecutorJob => ({
    buildId,
    contextTar,
    dockerfilePath: 'Dockerfile',
    registry: { host: server.host, insecure: true },
    repository: 'acme/app',
    tags: ['latest'],
    buildArgs: {},
    pushCredentials: { username: 'acme+builder', password: tokens.builder! },
    pullCredentials: { username: 'library+puller', password: tokens.puller! },
    cacheFrom: [],
    ...extra,
  });

  const runJob = async (j: ExecutorJob, opts: { podmanHost?: string; debug?: boolean; abortWhen?: (line: ExecutorLogLine) => boolean } = {}): Promise<Recorded & { abortedAt?: number }> => {
    const executor = createPodmanExecutor({ name: 'test', podmanHost: opts.podmanHost ?? service.host, debug: opts.debug });
    const phases: ExecutorPhase[] = [];
    const logs: ExecutorLogLine[] = [];
    const ac = new AbortController();
    let abortedAt: number | undefined;
    const t0 = Date.now();
    const outcome = await executor.run(
      j,
      {
        phase: (p) => phases.push(p),
        log: (l) => {
          logs.push(l);
          if (opts.abortWhen?.(l) && !ac.signal.aborted) {
            abortedAt = Date.now();
            ac.abort();
          }
        },
      },
      ac.signal,
    );
    const recorded = { outcome, phases, logs, ms: Date.now() - t0, abortedAt };
    if (process.env.SLIPWAY_TEST_VERBOSE) console.log(show(recorded));
    return recorded;
  };

  const show = (r: Recorded) => JSON.stringify({ outcome: r.outcome, phases: r.phases, logs: r.logs.map((l) => `${l.type}: ${l.message}`) }, null, 1);

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    ({ clients, readerToken: tokens.reader } = await seedBuildWorld(server, { busybox: 'private' }));
    tokens.builder = await admin('create-robot', 'acme+builder');
    tokens.puller = await admin('create-robot', 'library+puller');
    await admin('grant', 'acme/app', 'acme+builder', 'write');
    await admin('grant', 'library/busybox', 'library+puller', 'read');

    service = await startPodmanService([server.host]);
  });
  after(async () => {
    await service?.stop();
    clients?.dispose();
    await server?.stop();
  });

  it('answers ping, and createExecutors builds it from config (kubernetes is refused clearly)', async () => {
    const [executor] = createExecutors([{ EXECUTOR: 'podman', NAME: 'local', PODMAN_HOST: service.host, SETUP_TIME: 180, MINIMUM_RETRY_THRESHOLD: 0, DEBUG: false }]);
    assert.equal(executor!.name, 'local');
    assert.deepEqual(executor!.settings, { setupTimeS: 180, minimumRetryThreshold: 0, debug: false });
    assert.throws(
      () => createExecutors([{ EXECUTOR: 'podman', NAME: 'a', PODMAN_HOST: service.host }, { EXECUTOR: 'podman', NAME: 'a', PODMAN_HOST: service.host }]),
      /two executors are named a/,
    );
    assert.equal(await executor!.ping(), true);
    assert.throws(() => createExecutors([{ EXECUTOR: 'kubernetes', NAME: 'k8s' }]), /kubernetes executor is not available yet/);
    assert.throws(() => createExecutors([{ EXECUTOR: 'podman', NAME: 'x', PODMAN_HOST: '/no/scheme' }]), /PODMAN_HOST/);
  });

  it('builds FROM a private base image in Slipway, RUN and COPY, pushes every tag; a robot pulls them', async () => {
    const tar = await makeContext({
      Dockerfile: 'FROM REGISTRY/library/busybox\nARG GREETING=none\nRUN echo hello-from-run > /x && cat /x && echo "greeting=$GREETING"\nCOPY a.txt /a.txt\n',
      'a.txt': 'from the context\n',
    });
    const r = await runJob(job('build-ok', tar, { tags: ['v1', 'latest'], buildArgs: { GREETING: 'hi-there' } }));
    assert.equal(r.outcome.status, 'complete', show(r));
    assert.deepEqual(r.phases, ['unpacking', 'pulling', 'building', 'pushing'], show(r));

    // Every STEP is a command line, numbered in order (Podman adds the label as a final step).
    const commands = r.logs.filter((l) => l.type === 'command');
    assert.ok(commands.length >= 4, show(r));
    assert.deepEqual(
      commands.map((c) => c.data?.step),
      commands.map((_, i) => i + 1),
      show(r),
    );
    assert.match(commands[0]!.message, new RegExp(`^STEP 1/\\d+: FROM ${server.host}/library/busybox$`));
    assert.ok(commands.some((c) => /^STEP \d+\/\d+: RUN echo hello-from-run/.test(c.message)), show(r));
    assert.ok(commands.some((c) => /^STEP \d+\/\d+: COPY a\.txt \/a\.txt$/.test(c.message)), show(r));
    assert.ok(r.logs.some((l) => l.type === 'plain' && l.message === 'hello-from-run'), show(r));
    assert.ok(r.logs.some((l) => l.type === 'plain' && l.message === 'greeting=hi-there'), show(r));
    assert.ok(!r.logs.some((l) => l.type === 'error'), show(r));

    const outcome = r.outcome as Extract<ExecutorOutcome, { status: 'complete' }>;
    assert.match(outcome.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(outcome.manifestDigests.length, 1, 'both tags name one manifest');

    const reader = createClients([server.host]);
    try {
      for (const tag of ['v1', 'latest']) {
        const inspect = mustSucceed(
          `skopeo inspect ${tag}`,
          await reader.skopeo(['inspect', '--creds', `acme+reader:${tokens.reader}`, '--tls-verify=false', `docker://${server.host}/acme/app:${tag}`]),
        );
        const info = JSON.parse(inspect.stdout) as { Digest: string; Labels: Record<string, string> };
        assert.equal(info.Digest, outcome.manifestDigests[0]);
        assert.equal(info.Labels[BUILD_LABEL], 'build-ok');
      }
      // The image really holds what RUN and COPY wrote.
      const dir = path.join(reader.dir, 'pulled');
      mustSucceed('skopeo copy', await reader.skopeo(['copy', '--src-creds', `acme+reader:${tokens.reader}`, '--src-tls-verify=false', `docker://${server.host}/acme/app:v1`, `dir:${dir}`]));
    } finally {
      reader.dispose();
    }
  });

  it("a second build on the same host reuses the first one's layers (the previous image primed as cacheFrom)", async () => {
    const tar = await makeContext({
      Dockerfile: 'FROM REGISTRY/library/busybox\nARG GREETING=none\nRUN echo hello-from-run > /x && cat /x && echo "greeting=$GREETING"\nCOPY a.txt /a.txt\n',
      'a.txt': 'from the context\n',
    });
    const r = await runJob(job('build-cached', tar, { tags: ['v2'], buildArgs: { GREETING: 'hi-there' }, cacheFrom: [`${server.host}/acme/app:v1`] }));
    assert.equal(r.outcome.status, 'complete', show(r));
    assert.ok(r.logs.some((l) => l.message === `cache image ${server.host}/acme/app:v1 pulled`), show(r));
    assert.ok(r.logs.some((l) => /^--> Using cache [0-9a-f]{64}$/.test(l.message)), show(r));
    assert.ok(!r.logs.some((l) => l.message === 'hello-from-run'), 'the RUN step came from the cache');
  });

  it('a failing RUN ends error with the command and its output, and leaves no container', async () => {
    const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nRUN echo about-to-fail && false\n' });
    const r = await runJob(job('build-fails', tar));
    assert.equal(r.outcome.status, 'error', show(r));
    const message = (r.outcome as { message: string }).message;
    assert.match(message, /RUN echo about-to-fail && false/);
    assert.match(message, /exit status 1/);
    assert.ok(r.logs.some((l) => l.type === 'plain' && l.message === 'about-to-fail'), show(r));
    assert.equal(r.logs.filter((l) => l.type === 'error').length, 1, show(r));
    assert.ok(!r.phases.includes('pushing'), show(r));
    const external = await apiGet<unknown[]>(service.socketPath, '/v4.0.0/libpod/containers/json?all=true&external=true');
    assert.deepEqual(external, [], 'forcerm removed the working containers');
  });

  it('with debug, a failed build keeps its working container for inspection', async () => {
    const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nRUN echo kept > /kept && false\n' });
    const r = await runJob(job('build-debug', tar), { debug: true });
    assert.equal(r.outcome.status, 'error', show(r));
    const external = await apiGet<Array<{ Id: string }>>(service.socketPath, '/v4.0.0/libpod/containers/json?all=true&external=true');
    assert.equal(external.length, 1, JSON.stringify(external));
    mustSucceed('podman rm --force', await service.clients.podman(['rm', '--force', external[0]!.Id]));
  });

  it('an unknown instruction ends error with a readable message', async () => {
    const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nFROBNICATE now\n' });
    const r = await runJob(job('build-unknown', tar));
    assert.equal(r.outcome.status, 'error', show(r));
    const message = (r.outcome as { message: string }).message;
    assert.match(message, /Unknown instruction: "FROBNICATE"/);
    assert.doesNotMatch(message, /imagebuilder\.Step/);
  });

  it('an unreachable Podman socket is an internalerror, and ping says false', async () => {
    const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\n' });
    const host = `unix://${path.join(clients.dir, 'nobody-listens.sock')}`;
    const r = await runJob(job('build-nohost', tar), { podmanHost: host });
    assert.equal(r.outcome.status, 'internalerror', show(r));
    assert.equal(await createPodmanExecutor({ name: 'x', podmanHost: host }).ping(), false);
  });

  it('builds through a tcp:// PODMAN_HOST', async () => {
    const remote = await startPodmanService([server.host], { tcpPort: await freePort() });
    try {
      assert.match(remote.host, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await createPodmanExecutor({ name: 'tcp', podmanHost: remote.host }).ping(), true);
      const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nRUN echo over-tcp\n' });
      const r = await runJob(job('build-tcp', tar, { tags: ['tcp'] }), { podmanHost: remote.host });
      assert.equal(r.outcome.status, 'complete', show(r));
      assert.ok(r.logs.some((l) => l.message === 'over-tcp'), show(r));
    } finally {
      await remote.stop();
    }
  });

  it('a Podman service that dies during the build is an internalerror', async () => {
    const doomed = await startPodmanService([server.host]);
    try {
      const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nRUN sleep 20\n' });
      const r = await runJob(job('build-crash', tar), {
        podmanHost: doomed.host,
        abortWhen: (l) => {
          if (l.type === 'command' && /RUN sleep 20/.test(l.message)) process.kill(doomed.pid, 'SIGKILL');
          return false;
        },
      });
      assert.equal(r.outcome.status, 'internalerror', show(r));
      assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    } finally {
      await doomed.stop();
    }
  });

  it('cancel during building ends cancelled within seconds and leaves nothing of the build', async () => {
    const tar = await makeContext({ Dockerfile: 'FROM REGISTRY/library/busybox\nRUN echo first > /first\nRUN sleep 30\n' });
    const r = await runJob(job('build-cancel', tar), { abortWhen: (l) => l.type === 'command' && /RUN sleep 30/.test(l.message) });
    assert.equal(r.outcome.status, 'cancelled', show(r));
    assert.ok(r.abortedAt !== undefined, show(r));
    const afterAbort = Date.now() - r.abortedAt!;
    assert.ok(afterAbort < 5000, `cancel took ${afterAbort} ms`);
    assert.ok(!r.phases.includes('pushing'));
    const external = await apiGet<unknown[]>(service.socketPath, '/v4.0.0/libpod/containers/json?all=true&external=true');
    assert.deepEqual(external, [], 'no buildah working container is left');
    const labelled = await apiGet<unknown[]>(service.socketPath, `/images/json?all=true&filters=${encodeURIComponent(JSON.stringify({ label: [`${BUILD_LABEL}=build-cancel`] }))}`);
    assert.deepEqual(labelled, [], 'no image of the build is left');
    const ps = mustSucceed('podman ps --external', await service.clients.podman(['ps', '--all', '--external', '--quiet']));
    assert.equal(ps.stdout.trim(), '', describeResult('podman ps', ps));
  });
});
