import { Command, Option } from 'commander';
import { loadConfig, ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { DomainError } from './errors.js';
import { openRuntime, type Runtime } from './runtime.js';
import { createApp } from './app.js';
import { createFilesystemDriver } from '../registry/storage/filesystem-driver.js';
import { createBlobStore } from '../registry/storage/content-store.js';
import * as admin from './cli/admin.js';
import { createExecutors } from '../executors/index.js';
import { createBuildManager, executorSlots, type BuildManager } from '../buildman/index.js';
import { buildCommand } from '../buildman/cli.js';
import { settleBuildTags } from '../registry/metadata/build-tags.js';
import { startGcWorker } from '../registry/gc/worker.js';
import { gcCommand } from '../registry/gc/gc-command.js';
import path from 'node:path';
import { createTriggers, type Triggers } from '../triggers/index.js';
import { createGitSourceFetcher } from '../triggers/git-source.js';
import { openPubSubTransport } from '../buildman/log-pubsub-config.js';
import type { PubSubTransport } from '../buildman/cluster-events.js';

function configFrom(cmd: Command): Config {
  const opts = cmd.optsWithGlobals() as { config?: string };
  return loadConfig({ file: opts.config });
}

async function serve(config: Config): Promise<void> {
  const rt = await openRuntime(config);
  const blobs = createBlobStore(createFilesystemDriver(config.STORAGE.PATH));
  // Build logs and queue events reach other replicas through it (BUILD_MANAGER.PUBSUB).
  const pubsub = config.FEATURE_BUILD_SUPPORT ? await openPubSubTransport(config, rt.log) : null;
  // Triggers enqueue on the build manager's queue, and the build manager calls triggers' hooks: bound once both exist.
  const hooks: TriggerHooks = {};
  const builds = pubsub ? buildManager(rt, pubsub, hooks) : null;
  const triggers = builds ? (hooks.triggers = createTriggers({ ...rt, queue: builds.queue })) : null;
  const app = await createApp({
    ...rt, blobs, apiModules: builds && triggers ? [builds.apiModule, triggers.apiModule] : [], routeModules: triggers ? [triggers.routeModule] : [],
  });
  const address = await app.listen({ host: config.LISTEN_ADDRESS, port: config.PORT });
  // After listening: builds left by a killed server are requeued and every waiting one is dispatched.
  await builds?.scheduler.start();
  const gc = config.FEATURE_GARBAGE_COLLECTION ? startGcWorker(gcDeps(rt), config.GC_INTERVAL_SECONDS, rt.log) : null;
  rt.log.info({ address, db: config.DB_URI.replace(/\/\/[^@]*@/, '//***@'), storage: config.STORAGE.PATH }, 'slipway listening');
  // Plain text too, for the person who just typed `slipway serve`.
  process.stderr.write(`slipway listening on ${address} (data in ${config.DATA_DIR})\n`);
  const stop = async (signal: string) => {
    rt.log.info({ signal }, 'shutting down');
    await builds?.scheduler.stop();
    await app.close();
    await gc?.stop();
    await pubsub?.close();
    await rt.db.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

interface TriggerHooks {
  triggers?: Triggers;
}

/** FEATURE_BUILD_SUPPORT: the executors named in EXECUTORS, and the build manager driving them. */
function buildManager(rt: Runtime, pubsub: PubSubTransport, hooks: TriggerHooks): BuildManager {
  const { config } = rt;
  if (config.EXECUTORS.length === 0) throw new ConfigError('FEATURE_BUILD_SUPPORT: true needs at least one EXECUTORS entry');
  let executors;
  try {
    executors = createExecutors(config.EXECUTORS);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return createBuildManager({ config, db: rt.db, log: rt.log, tokens: rt.tokens, keys: rt.keys, executors: executorSlots(executors, config.EXECUTORS), pubsub: pubsub.logs, cluster: pubsub.cluster,
    fetchSource: createGitSourceFetcher({ db: rt.db, keys: rt.keys, workDir: path.join(config.DATA_DIR, 'git-sources'), log: rt.log,
      knownHostsFile: config.TRIGGER_GIT_KNOWN_HOSTS_FILE }),
    onFinished: async (tx, build) => hooks.triggers?.onFinished(tx, build),
    tags: { settle: settleBuildTags },
    pushUser: async (build) => (await hooks.triggers?.pushUser(build)) ?? null,
  });
}

/** What the garbage collector works on: the database and the blob store of the configured storage. */
function gcDeps(rt: Runtime) {
  const { config } = rt;
  return {
    db: rt.db, blobs: createBlobStore(createFilesystemDriver(config.STORAGE.PATH)),
    graceSeconds: config.GC_GRACE_SECONDS, uploadExpirySeconds: config.GC_UPLOAD_EXPIRY_SECONDS,
  };
}

/** Runs an admin command against the same database the server uses, then closes it. */
function adminAction<A extends unknown[]>(fn: (rt: Runtime, ...args: A) => Promise<string>) {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const rt = await openRuntime(configFrom(cmd), { logDestination: 2 });
    try {
      process.stdout.write((await fn(rt, ...args)) + '\n');
    } finally {
      await rt.db.destroy();
    }
  };
}

export function buildCli(): Command {
  const program = new Command('slipway')
    .description('Build-and-trigger CI service with an integrated container registry')
    .addOption(new Option('-c, --config <file>', 'YAML config file').env('SLIPWAY_CONFIG'))
    .showHelpAfterError();

  program
    .command('serve')
    .description('start the service')
    .action(async (_opts, cmd: Command) => serve(configFrom(cmd)));

  program
    .command('build <dir>')
    .description('upload a folder as a Dockerfile build, follow its log live, exit 0 when it completes')
    .requiredOption('--repo <namespace/name>', 'the repository to build into')
    .option('-t, --tag <tag...>', 'tags to push (default: latest)', [])
    .addOption(new Option('--server <url>', 'the Slipway server').env('SLIPWAY_SERVER').default('http://127.0.0.1:8080'))
    .addOption(new Option('-u, --user <name>', 'user or robot to act as').env('SLIPWAY_USER'))
    .addOption(new Option('-p, --password <secret>', 'password or robot token').env('SLIPWAY_PASSWORD'))
    .action(async (dir: string, opts: { repo: string; tag: string[]; server: string; user?: string; password?: string }) => {
      process.exitCode = await buildCommand(dir, { repo: opts.repo, tags: opts.tag, server: opts.server, user: opts.user, password: opts.password });
    });

  const a = program.command('admin').description('administer accounts and repositories');
  a.command('create-user <name>')
    .requiredOption('--email <email>', 'email address')
    .requiredOption('--password <password>', 'password (at least 8 characters)')
    .option('--superuser', 'make the user a superuser', false)
    .action(adminAction(admin.createUserCmd));
  a.command('create-org <name>')
    .requiredOption('--owner <user>', 'the user who owns it')
    .option('--email <email>', 'contact email')
    .action(adminAction(admin.createOrgCmd));
  a.command('create-robot <namespace+name>')
    .option('--description <text>', 'what the robot is for', '')
    .action(adminAction(admin.createRobotCmd));
  a.command('create-repo <namespace/name>')
    .option('--public', 'anyone may pull it')
    .option('--private', 'only those granted access may pull it (the default)')
    .option('--description <text>', 'description', '')
    .action(adminAction(admin.createRepoCmd));
  a.command('grant <namespace/name> <account> <role>')
    .description('give a user or robot (ns+robot) read, write or admin on a repository')
    .action(adminAction(admin.grantCmd));
  a.command('gc')
    .description('run one garbage collection pass now: tags past the time machine, unreferenced manifests and blobs')
    .action(adminAction((rt) => gcCommand(gcDeps(rt))));
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof DomainError) {
      process.stderr.write(`slipway: ${err.message}\n`);
      process.exit(err instanceof ConfigError ? 78 : 1);
    }
    process.stderr.write(`slipway: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
