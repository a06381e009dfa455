// podman, buildah and skopeo as a user runs them, each test with its own configuration, image
// storage and credentials in a temp folder, so that nothing reads or writes the machine's own
// (/etc/containers, /var/lib/containers/storage, ~/.docker, /run/containers/0/auth.json).
// One exception: as root, containers/image keeps its blob-location cache in
// /var/lib/containers/cache whatever the configuration says; it only lets a client try a
// cross-repository mount, which a registry must handle anyway.
// `buildah login` (1.28) ignores registries.conf's `insecure`: give it --tls-verify=false.
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readLayoutImage, type LayoutImage } from './oci-layout.js';
import { describeResult, runCommand, type CommandResult, type RunOptions } from './run-command.js';

export type { CommandResult } from './run-command.js';

/** Where busybox-static puts its binary; the base image is this file and links to it. */
export const BUSYBOX = '/bin/busybox';

export interface Clients {
  /** The temp folder holding everything below. */
  dir: string;
  authFile: string;
  /** The environment every command runs in. */
  env: NodeJS.ProcessEnv;
  podman(args: readonly string[], opts?: Omit<RunOptions, 'env'>): Promise<CommandResult>;
  buildah(args: readonly string[], opts?: Omit<RunOptions, 'env'>): Promise<CommandResult>;
  skopeo(args: readonly string[], opts?: Omit<RunOptions, 'env'>): Promise<CommandResult>;
  /** `podman login`, the password on stdin as a careful user would. */
  podmanLogin(host: string, user: string, password: string): Promise<CommandResult>;
  /**
   * Builds a busybox image `FROM scratch` with buildah into this storage; resolves with its name.
   * Its digests are stable (`--timestamp 0`), so two builds of it are the same image.
   */
  makeBaseImage(name?: string): Promise<string>;
  /**
   * Writes an image of at least three layers (busybox, then two files of random content in
   * separate COPY steps) to an OCI layout at `dir`, tagged `tag`.
   */
  makeOciLayout(dir: string, tag?: string): Promise<LayoutImage>;
  /** Removes the temp folder, image storage included. */
  dispose(): void;
}

function registriesConf(insecureHosts: readonly string[]): string {
  // No unqualified search: a short name must never reach for docker.io here.
  const entries = insecureHosts.map((h) => `[[registry]]\nlocation = ${JSON.stringify(h)}\ninsecure = true\n`);
  return ['unqualified-search-registries = []', '', ...entries].join('\n');
}

function containersConf(dir: string): string {
  // podman-here.md: cgroups are unusable here and crun fails in the hybrid layout; events go to
  // a file because there may be no journald; networks live in the temp folder, not /etc/cni.
  return `[containers]
cgroups = "disabled"
cgroupns = "host"
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = ${JSON.stringify(path.join(dir, 'events.log'))}
tmp_dir = ${JSON.stringify(path.join(dir, 'tmp'))}

[network]
network_config_dir = ${JSON.stringify(path.join(dir, 'networks'))}
`;
}

function storageConf(dir: string): string {
  return `[storage]
driver = "vfs"
graphroot = ${JSON.stringify(path.join(dir, 'storage'))}
runroot = ${JSON.stringify(path.join(dir, 'runroot'))}
`;
}

const ACCEPT_ANYTHING = JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] });

function isolatedEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Whatever the person running the tests has configured must not leak in.
  for (const key of Object.keys(env)) {
    if (/^(CONTAINERS_|REGISTRY_AUTH_FILE$|DOCKER_|BUILDAH_|STORAGE_|XDG_)/.test(key)) delete env[key];
  }
  const home = path.join(dir, 'home');
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_RUNTIME_DIR: path.join(dir, 'xdg-run'),
    TMPDIR: path.join(dir, 'tmp'),
    DOCKER_CONFIG: path.join(home, '.docker'),
    REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'),
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
  };
}

/** A busybox root filesystem: the static binary and a link for every applet it has. */
async function writeBusyboxRootfs(rootfs: string): Promise<void> {
  const list = await runCommand(BUSYBOX, ['--list']);
  if (list.code !== 0) throw new Error(describeResult(`${BUSYBOX} --list (is busybox-static installed?)`, list));
  const bin = path.join(rootfs, 'bin');
  mkdirSync(bin, { recursive: true });
  cpSync(BUSYBOX, path.join(bin, 'busybox'));
  chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const applet of list.stdout.split('\n').map((s) => s.trim())) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', path.join(bin, applet));
  }
  for (const d of ['tmp', 'etc', 'root']) mkdirSync(path.join(rootfs, d), { recursive: true });
  writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\n');
}

/**
 * Creates an isolated client environment in a new temp folder; the registries in `insecureHosts`
 * (`127.0.0.1:PORT`) are reached over plain HTTP, as registries.conf allows.
 */
export function createClients(insecureHosts: readonly string[] = []): Clients {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-clients-'));
  for (const d of ['home/.config/containers', 'home/.docker', 'tmp', 'xdg-run', 'networks', 'registries.d', 'contexts']) {
    mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
  }
  writeFileSync(path.join(dir, 'registries.conf'), registriesConf(insecureHosts));
  writeFileSync(path.join(dir, 'containers.conf'), containersConf(dir));
  writeFileSync(path.join(dir, 'storage.conf'), storageConf(dir));
  // podman and buildah read the policy from $HOME when it is there; skopeo is told explicitly.
  writeFileSync(path.join(dir, 'policy.json'), ACCEPT_ANYTHING);
  writeFileSync(path.join(dir, 'home/.config/containers/policy.json'), ACCEPT_ANYTHING);
  // The tools refuse to start when REGISTRY_AUTH_FILE names a file that does not exist.
  const authFile = path.join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: {} }), { mode: 0o600 });
  const env = isolatedEnv(dir);
  let contexts = 0;

  const podman: Clients['podman'] = (args, opts) => runCommand('podman', args, { ...opts, env });
  const buildah: Clients['buildah'] = (args, opts) => runCommand('buildah', args, { ...opts, env });
  // skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF, so it gets the same files as flags.
  const skopeo: Clients['skopeo'] = (args, opts) =>
    runCommand('skopeo', ['--registries-conf', path.join(dir, 'registries.conf'), '--registries.d', path.join(dir, 'registries.d'), '--policy', path.join(dir, 'policy.json'), ...args], { ...opts, env });

  const build = async (context: string, tag: string, extra: string[]) => {
    const r = await buildah(['bud', '--isolation', 'chroot', '--storage-driver', 'vfs', ...extra, '-t', tag, context], { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(describeResult(`buildah bud -t ${tag}`, r));
  };
  const newContext = () => {
    const ctx = path.join(dir, 'contexts', String(contexts++));
    mkdirSync(ctx, { recursive: true });
    return ctx;
  };

  return {
    dir,
    authFile,
    env,
    podman,
    buildah,
    skopeo,
    podmanLogin: (host, user, password) => podman(['login', '--username', user, '--password-stdin', host], { input: password }),

    async makeBaseImage(name = 'localhost/slipway-test/busybox:latest') {
      const ctx = newContext();
      await writeBusyboxRootfs(path.join(ctx, 'rootfs'));
      writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nCMD ["/bin/sh"]\n');
      await build(ctx, name, ['--timestamp', '0']);
      return name;
    },

    async makeOciLayout(layoutDir, tag = 'latest') {
      const ctx = newContext();
      await writeBusyboxRootfs(path.join(ctx, 'rootfs'));
      // Random content makes every layout's layers new to any registry it is copied into.
      writeFileSync(path.join(ctx, 'one.txt'), `layer two ${randomBytes(8).toString('hex')}\n`);
      writeFileSync(path.join(ctx, 'two.bin'), randomBytes(256 * 1024));
      writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nCOPY one.txt /data/one.txt\nCOPY two.bin /data/two.bin\nCMD ["/bin/sh"]\n');
      const image = `localhost/slipway-test/layered-${contexts}:latest`;
      // --layers commits each step, so each COPY becomes a layer of its own.
      await build(ctx, image, ['--layers']);
      const r = await buildah(['push', image, `oci:${layoutDir}:${tag}`]);
      if (r.code !== 0) throw new Error(describeResult(`buildah push ${image} oci:${layoutDir}:${tag}`, r));
      const layout = readLayoutImage(layoutDir, tag);
      if (layout.layerDigests.length < 3) throw new Error(`expected at least 3 layers in ${layoutDir}, got ${layout.layerDigests.length}`);
      return layout;
    },

    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Throws with the command's whole output unless it exited 0; returns it for chaining. */
export function mustSucceed(what: string, r: CommandResult): CommandResult {
  if (r.code !== 0) throw new Error(describeResult(what, r));
  return r;
}
