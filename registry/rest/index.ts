// The registry's endpoints on /api/v1 (Quay's tag, label and quota APIs). Each file here exports
// its endpoints; this module registers them with the repository router or on the /api/v1 scope.
import type { ApiModule } from '../../src/api/context.js';
import { registerRepositoryEndpoints } from '../../src/api/repo-router.js';
import type { RepoEndpoint } from '../../src/api/repo-router.js';
import { tagEndpoints } from './tags.js';
import { labelEndpoints } from './labels.js';
import { quotaRoutes } from './quotas.js';

/** Repository sub-resources (`tag/`, `manifest/{digest}/labels`…) served by the registry. */
const repositoryEndpoints: RepoEndpoint[] = [...tagEndpoints, ...labelEndpoints];

export const registryApiModule: ApiModule = async (app, deps) => {
  registerRepositoryEndpoints(repositoryEndpoints);
  await quotaRoutes(app, deps);
};
