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

function configFrom(cmd: Command): Config {
  const opts = cmd.optsWithGlobals() as { config?: string };
  return loadConfig({ file: opts.config });
}

async function serve(config: Config): Promise<void> {
  const rt = await openRuntime(config);
  const blobs = createBlobStore(createFilesystemDriver(config.STORAGE.PATH));
  const builds = config.FEATURE_BUILD_SUPPORT ? buildManager(rt) : null;
  const app = await createApp({ ...rt, blobs, apiModules: builds ? [builds.apiModule] : [] });
  const address = await app.listen({ host: config.LISTEN_ADDRESS, port: config.PORT });
  // After listening: builds left by a killed server are requeued and every waiting one is dispatched.
  await builds?.scheduler.start();
  rt.log.info({ address, db: config.DB_URI.replace(/\/\/[^@]*@/, '//***@'), storage: config.STORAGE.PATH }, 'slipway listening');
  // Plain text too, for the person who just typed `slipway serve`.
  process.stderr.write(`slipway listening on ${address} (data in ${config.DATA_DIR})\n`);
  const stop = async (signal: string) => {
    rt.log.info({ signal }, 'shutting down');
    await builds?.scheduler.stop();
    await app.close();
    await rt.db.destroy();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** FEATURE_BUILD_SUPPORT: the executors named in EXECUTORS, and the build manager driving them. */
function buildManager(rt: Runtime): BuildManager {
  const { config } = rt;
  if (config.EXECUTORS.length === 0) throw new ConfigError('FEATURE_BUILD_SUPPORT: true needs at least one EXECUTORS entry');
  let executors;
  try {
    executors = createExecutors(config.EXECUTORS);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return createBuildManager({ config, db: rt.db, log: rt.log, tokens: rt.tokens, keys: rt.keys, executors: executorSlots(executors, config.EXECUTORS),
    tags: { settle: settleBuildTags } });
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
