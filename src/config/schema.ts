import { z } from 'zod';

// Keys follow Quay's config.yaml naming so that Quay operators recognise them.
// The object is strict: an unknown or misspelt key stops start-up instead of being ignored.
export const configSchema = z.strictObject({
  LISTEN_ADDRESS: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATA_DIR: z.string().min(1).default('./data'),
  /** `sqlite:PATH` or `postgres://…`; defaults to a SQLite file inside DATA_DIR. */
  DB_URI: z
    .string()
    .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://')
    .optional(),
  /** How clients and builders reach the registry (host[:port]); defaults to the listen address. */
  SERVER_HOSTNAME: z.string().min(1).optional(),
  PREFERRED_URL_SCHEME: z.enum(['http', 'https']).default('http'),
  /** Signs registry tokens and encrypts stored secrets; generated into DATA_DIR when absent. */
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  STORAGE: z
    .strictObject({
      DRIVER: z.literal('filesystem').default('filesystem'),
      PATH: z.string().min(1).optional(),
    })
    .default({ DRIVER: 'filesystem' }),
  FEATURE_ANONYMOUS_ACCESS: z.boolean().default(true),
  /** Lets anyone register an account through POST /api/v1/user/. */
  FEATURE_USER_CREATION: z.boolean().default(false),
  /** Switches robot accounts off: none can be created and none can log in (Quay's key). */
  ROBOTS_DISALLOW: z.boolean().default(false),
  /** The time machine settings users and organizations may choose, as Quay writes them (`2w`). */
  TAG_EXPIRATION_OPTIONS: z
    .array(z.string().regex(/^[0-9]+[smhdw]$/, 'must be a number followed by s, m, h, d or w'))
    .min(1)
    .default(['0s', '1d', '1w', '2w', '4w']),
  /** Lets writers permanently delete a tag's history (POST …/tag/{tag}/expire), so it is collectable at once. */
  PERMANENTLY_DELETE_TAGS: z.boolean().default(false),
  /** Bounds of a tag expiration set through the API, counted from the tag's start (Quay clamps into them). */
  LABELED_EXPIRATION_MINIMUM: z.string().regex(/^[0-9]+[smhdw]$/, 'must be a number followed by s, m, h, d or w').default('1h'),
  LABELED_EXPIRATION_MAXIMUM: z.string().regex(/^[0-9]+[smhdw]$/, 'must be a number followed by s, m, h, d or w').default('104w'),
  CREATE_PRIVATE_REPO_ON_PUSH: z.boolean().default(true),
  MAXIMUM_MANIFEST_SIZE: z.number().int().positive().default(4 * 1024 * 1024),
  /** Runs garbage collection passes in the background of `slipway serve` (Quay's key). */
  FEATURE_GARBAGE_COLLECTION: z.boolean().default(true),
  /** Seconds between the background collector's passes. */
  GC_INTERVAL_SECONDS: z.number().int().min(1).max(86_400).default(300),
  /** What a push in progress is given: blobs and untagged manifests younger than this are never collected. */
  GC_GRACE_SECONDS: z.number().int().min(0).max(7 * 86_400).default(3600),
  /** An upload with no chunk for this long is abandoned: the collector deletes it. */
  GC_UPLOAD_EXPIRY_SECONDS: z.number().int().min(60).max(30 * 86_400).default(86_400),
  /** Namespace storage quotas: sizes, the quota API and refusing pushes over a Reject limit. */
  FEATURE_QUOTA_MANAGEMENT: z.boolean().default(false),
  /** A Reject limit for every namespace without a quota of its own; 0 means none. */
  DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: z.number().int().min(0).default(0),
  /** A namespace gets one quota_warning / quota_error event per limit within this many seconds. */
  QUOTA_NOTIFICATION_COOLDOWN_SECONDS: z.number().int().min(0).default(86_400),
  /** Seconds a web session (POST /api/v1/signin) lasts from sign-in (Quay's key; 31 days). */
  PERMANENT_SESSION_LIFETIME: z.number().int().min(60).max(10 * 365 * 86_400).default(31 * 86_400),
  REGISTRY_TOKEN_LIFETIME_S: z.number().int().min(60).max(3600).default(3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Dockerfile builds: the build API, the queue and the scheduler (needs at least one EXECUTORS entry). */
  FEATURE_BUILD_SUPPORT: z.boolean().default(false),
  BUILD_MANAGER: z
    .strictObject({
      /** Builds this server runs at once (Quay's default is 1). */
      ALLOWED_WORKER_COUNT: z.number().int().min(1).max(256).default(2),
      /** How long a worker's claim on a build lasts unless renewed; a killed worker's builds are retried after it. */
      LEASE_SECONDS: z.number().int().min(5).max(3600).default(60),
      /** Runs a build gets before an internal error (executor down, worker killed) is final. */
      MAX_ATTEMPTS: z.number().int().min(1).max(100).default(3),
      /** Names this server's claims; a restarted server with the same id retries its own builds at once. */
      WORKER_ID: z.string().min(1).max(255).optional(),
      /**
       * Builds one namespace may have waiting or running; one more is refused with 429 (Quay's
       * maximum_queued_builds_count). Unset: no limit, so triggers are never blocked by default.
       */
      MAXIMUM_QUEUED_BUILDS_PER_NAMESPACE: z.number().int().min(1).max(100_000).optional(),
      /**
       * How build logs and queue events reach the other replicas: `inprocess` (one server, the
       * default), `redis` (REDIS_URL) or `postgres` (LISTEN/NOTIFY on DB_URI, which must be PostgreSQL).
       */
      PUBSUB: z
        .discriminatedUnion('TYPE', [
          z.strictObject({ TYPE: z.literal('inprocess') }),
          z.strictObject({
            TYPE: z.literal('redis'),
            REDIS_URL: z.string().regex(/^rediss?:\/\/./, 'must start with redis:// or rediss://'),
            CHANNEL_PREFIX: z.string().regex(/^[a-z0-9_]{1,20}$/, 'must be 1 to 20 of a-z, 0-9 and _').default('slipway'),
          }),
          z.strictObject({
            TYPE: z.literal('postgres'),
            CHANNEL_PREFIX: z.string().regex(/^[a-z0-9_]{1,20}$/, 'must be 1 to 20 of a-z, 0-9 and _').default('slipway'),
          }),
        ])
        .default({ TYPE: 'inprocess' }),
    })
    .prefault({}),
  /**
   * Where builds run (`EXECUTOR: podman` with NAME, PODMAN_HOST, SETUP_TIME,
   * MINIMUM_RETRY_THRESHOLD, DEBUG). Each entry's own keys are checked by executors/ at start-up.
   */
  EXECUTORS: z.array(z.looseObject({ EXECUTOR: z.string().min(1) })).default([]),
  /** Successive failed (`error`) builds after which a build trigger is disabled; 0 never (Quay's default is 100). */
  SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD: z.number().int().min(0).default(100),
  /** Successive `internalerror` builds after which a build trigger is disabled; 0 never. */
  SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD: z.number().int().min(0).default(5),
  /**
   * An OpenSSH known_hosts file: when set, triggers fetch only from git servers whose host key it
   * lists. Unset, any host key is accepted (the commit is fetched by its SHA, which git verifies).
   */
  TRIGGER_GIT_KNOWN_HOSTS_FILE: z.string().min(1).optional(),
}).superRefine((c, ctx) => {
  // NOTIFY only reaches sessions of the same PostgreSQL database: the one the replicas share.
  if (c.BUILD_MANAGER.PUBSUB.TYPE === 'postgres' && !/^postgres(ql)?:\/\//.test(c.DB_URI ?? '')) {
    ctx.addIssue({ code: 'custom', path: ['BUILD_MANAGER', 'PUBSUB', 'TYPE'], message: 'postgres needs DB_URI (DATABASE_URL) to be a PostgreSQL database' });
  }
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** The configuration after defaults that depend on other keys are filled in. */
export interface Config extends ParsedConfig {
  DB_URI: string;
  SERVER_HOSTNAME: string;
  STORAGE: { DRIVER: 'filesystem'; PATH: string };
}
