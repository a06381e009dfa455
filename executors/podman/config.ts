// The settings of one Podman executor, from config.yaml's EXECUTORS list.
import { z } from 'zod';

export const podmanExecutorConfigSchema = z.strictObject({
  EXECUTOR: z.literal('podman'),
  NAME: z.string().min(1),
  /** `unix:///run/podman/podman.sock`, `tcp://host:port` or `ssh://user@host[:port]` */
  PODMAN_HOST: z.string().regex(/^(unix|tcp|ssh):\/\//, 'must start with unix://, tcp:// or ssh://'),
  SETUP_TIME: z.number().int().positive().default(180),
  MINIMUM_RETRY_THRESHOLD: z.number().int().min(0).default(0),
  /** Keeps a failed build's containers and images for inspection. */
  DEBUG: z.boolean().default(false),
});

export type PodmanExecutorConfig = z.output<typeof podmanExecutorConfigSchema>;

export interface PodmanExecutorOptions {
  name: string;
  podmanHost: string;
  debug?: boolean;
}

/** dockerode's connection options for a PODMAN_HOST. */
export function connectionOptions(podmanHost: string): Record<string, unknown> {
  const url = new URL(podmanHost);
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: decodeURIComponent(url.pathname) };
    case 'tcp:':
      return { protocol: 'http', host: url.hostname, port: Number(url.port || 8080) };
    case 'ssh:':
      // docker-modem's ssh transport runs `docker system dial-stdio` on the remote host, so the
      // host needs the `docker` command that podman-docker provides (it runs
      // `podman system dial-stdio`, which reaches the user's Podman socket). The URL's path is
      // therefore not used. Authentication: the local ssh agent (SSH_AUTH_SOCK).
      return {
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        username: decodeURIComponent(url.username || 'root'),
        sshOptions: { agent: process.env.SSH_AUTH_SOCK },
      };
    default:
      throw new Error(`unsupported PODMAN_HOST ${podmanHost}: use unix://, tcp:// or ssh://`);
  }
}
