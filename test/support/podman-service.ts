// A Podman API service (the Docker-compatible API dockerode talks to) for one test: its own
// containers.conf (runc, cgroups disabled: podman-here.md), registries.conf (the given hosts are
// plain HTTP), vfs storage and runtime folders in a temp folder, listening on a unix socket there.
// It runs as a child process in its own process group; stop() ends exactly that process (and the
// group it leads), never anything found by name.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createClients, type Clients } from './clients.js';

export interface PodmanService {
  /** `unix:///tmp/…/podman.sock` (or `tcp://127.0.0.1:PORT`), what an executor's PODMAN_HOST says. */
  host: string;
  /** The unix socket; a service started with `tcpPort` does not listen on it. */
  socketPath: string;
  pid: number;
  /**
   * podman/buildah/skopeo commands on the very storage and configuration the service uses
   * (for example `podman ps -a --external` to look for leftovers).
   */
  clients: Clients;
  /** Everything the service printed. */
  output(): string;
  /** Stops the service (SIGTERM, then SIGKILL after a grace period) and removes its temp folder. */
  stop(): Promise<void>;
}

/** GET /_ping on a unix socket (or `{host, port}`); resolves true on a 200 `OK`. */
export function pingSocket(where: string | { host: string; port: number }, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const target = typeof where === 'string' ? { socketPath: where } : where;
    const req = http.request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startPodmanService(
  insecureHosts: readonly string[] = [],
  opts: { startTimeoutMs?: number; /** Listen on tcp://127.0.0.1:PORT instead of a unix socket. */ tcpPort?: number } = {},
): Promise<PodmanService> {
  const clients = createClients(insecureHosts);
  const socketPath = path.join(clients.dir, 'podman.sock');
  const listen = opts.tcpPort !== undefined ? `tcp://127.0.0.1:${opts.tcpPort}` : `unix://${socketPath}`;
  const pingTarget = opts.tcpPort !== undefined ? { host: '127.0.0.1', port: opts.tcpPort } : socketPath;
  let log = '';
  // --time=0: never exit for idleness. The storage driver comes from storage.conf (vfs), but is
  // also given explicitly, as podman-here.md starts it.
  const child: ChildProcess = spawn('podman', ['--storage-driver', 'vfs', '--log-level', 'info', 'system', 'service', '--time=0', listen], {
    env: clients.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (log = (log + d).slice(-200_000)));
  child.stderr!.on('data', (d) => (log = (log + d).slice(-200_000)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failed: Error | undefined;
  void spawnError.then((e) => (failed = e));

  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || failed) resolve();
      else child.once('exit', () => resolve());
    });

  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const grace = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL'); // the group this service leads: it and what it started
        } catch {
          // already gone
        }
      }, 10_000);
      await exited();
      clearTimeout(grace);
    }
    // Builds may leave runc/conmon helpers in the group after the service has gone.
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // no such group left
      }
    }
    clients.dispose();
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (failed) {
      await stop();
      throw new Error(`cannot start podman system service: ${failed.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      const out = log;
      await stop();
      throw new Error(`podman system service exited (${child.exitCode ?? child.signalCode}) during start-up:\n${out}`);
    }
    if (await pingSocket(pingTarget, 1000)) break;
    if (Date.now() > deadline) {
      const out = log;
      await stop();
      throw new Error(`podman system service did not answer /_ping on ${listen}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    host: listen,
    socketPath,
    pid: child.pid!,
    clients,
    output: () => log,
    stop,
  };
}
