// The contract between the build manager and whatever runs a build (Podman, Kubernetes).
// An executor builds one context into an image and pushes it; it knows nothing of queues,
// retries or the database.

export type ExecutorPhase = 'unpacking' | 'pulling' | 'building' | 'pushing';

/** One line of build output, typed as Quay types them. */
export interface ExecutorLogLine {
  type: 'phase' | 'command' | 'error' | 'plain';
  message: string;
  data?: Record<string, unknown>;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ExecutorJob {
  buildId: string;
  /** A tar archive of the build context on local disk (the manager has unpacked and checked it). */
  contextTar: string;
  /** The Dockerfile's path inside the context. */
  dockerfilePath: string;
  /** The registry the image goes to, as clients reach it (SERVER_HOSTNAME), and whether it speaks plain http. */
  registry: { host: string; insecure: boolean };
  /** `namespace/name` */
  repository: string;
  tags: string[];
  buildArgs: Record<string, string>;
  /** A short-lived credential that may push to `repository` only. */
  pushCredentials: RegistryCredentials;
  /** The pull robot's credentials, for private base images in this registry. */
  pullCredentials?: RegistryCredentials;
  /** Image references whose layers may serve as cache (the repository's previous build). */
  cacheFrom: string[];
}

export interface ExecutorEvents {
  phase(phase: ExecutorPhase): void;
  log(line: ExecutorLogLine): void;
}

export type ExecutorOutcome =
  | { status: 'complete'; imageId: string; manifestDigests: string[] }
  /** The build failed because of its own content (a failing RUN, a bad instruction): not retried. */
  | { status: 'error'; message: string }
  /** The executor or its host failed: the manager may retry elsewhere. */
  | { status: 'internalerror'; message: string }
  | { status: 'cancelled' };

export interface Executor {
  readonly name: string;
  /** Runs the job to its end; rejects only for programming errors. `signal` aborts (cancel). */
  run(job: ExecutorJob, events: ExecutorEvents, signal: AbortSignal): Promise<ExecutorOutcome>;
  /** Whether the executor's host answers (for readiness and for choosing among several). */
  ping(): Promise<boolean>;
}
