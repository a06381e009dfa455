import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../src/config/schema.js';
import type { Db } from '../../src/db/index.js';
import type { Keys } from '../../src/auth/secret-key.js';
import type { RegistryTokens } from '../../src/auth/registry-token.js';
import type { RegistryAction } from '../../src/auth/policy.js';
import type { ScopeSet } from '../../src/auth/scopes.js';
import type { Repository } from '../../src/repos/repositories.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface RegistryDeps {
  db: Db;
  config: Config;
  keys: Keys;
  tokens: RegistryTokens;
  blobs: BlobStore;
  log: Logger;
}

/** Who is calling, as far as the registry is concerned. */
export interface Caller {
  kind: 'anonymous' | 'user' | 'robot';
  accountId: number;
  name: string;
  /** Set when the caller acts through an OAuth token: the token's scopes cap what it may do. */
  scopes?: ScopeSet;
  /** The actions this caller holds on the named repository. */
  actions(repository: string): Promise<ReadonlySet<RegistryAction>>;
}

export interface RouteContext {
  deps: RegistryDeps;
  req: FastifyRequest;
  reply: FastifyReply;
  /** `namespace/repository` as in the URL. */
  name: string;
  namespace: string;
  repository: string;
  /** The URL parts after the name that the route's pattern captured (digest, reference, upload id). */
  params: string[];
  caller: Caller;
  /** The repository; NAME_UNKNOWN when it does not exist. */
  repo(): Promise<Repository>;
  /** The repository, created (private) for the caller when it does not exist yet. */
  repoForPush(): Promise<Repository>;
}

export type RouteHandler = (ctx: RouteContext) => Promise<unknown>;
