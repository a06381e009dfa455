// The registry's endpoints on /api/v1 (Quay's tag, label and quota APIs). Each file here exports
// its endpoints; this module registers them with the repository router or on the /api/v1 scope.
import type { ApiModule } from '../../src/api/context.js';
import { registerRepositoryEndpoints } from '../../src/api/repo-router.js';
import type { RepoEndpoint } from '../../src/api/repo-router.js';

/** Repository sub-resources (`tag/`, `manifest/{digest}/labels`…) served by the registry. */
const repositoryEndpoints: RepoEndpoint[] = [];

export const registryApiModule: ApiModule = async () => {
  registerRepositoryEndpoints(repositoryEndpoints);
};
