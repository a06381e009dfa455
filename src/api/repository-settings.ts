// Changing and deleting a repository: description (write), visibility, state and deletion (admin).
import { z } from 'zod';
import { deleteRepository, setDescription, setState, setVisibility } from '../repos/repositories.js';
import { audit } from './context.js';
import type { RepoEndpoint } from './repo-router.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

const DescriptionBody = z.object({ description: z.string().max(65_536) });
const VisibilityBody = z.object({ visibility: z.enum(['public', 'private']) });
// MIRROR is accepted here so that the domain can say why it is refused.
const StateBody = z.object({ state: z.enum(['NORMAL', 'READ_ONLY', 'MIRROR']) });

export const repositorySettingEndpoints: RepoEndpoint[] = [
  {
    method: 'PUT',
    path: '',
    doc: documented("Change a repository's description", ['repo:write']).schema,
    async handler({ deps, req, repo: load }) {
      const repo = await load('write');
      const { description } = parseInput(DescriptionBody, req.body);
      await deps.db.transaction(async (tx) => {
        await setDescription(tx, repo, description);
        await audit(tx, req, {
          kind: 'set_repo_description', namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo,
          metadata: { repo: repo.name, namespace: repo.namespace, description },
        });
      });
      return { success: true };
    },
  },
  {
    method: 'POST',
    path: 'changevisibility',
    doc: documented('Make a repository public or private', ['repo:admin']).schema,
    async handler({ deps, req, repo: load }) {
      const repo = await load('admin');
      const { visibility } = parseInput(VisibilityBody, req.body);
      await deps.db.transaction(async (tx) => {
        await setVisibility(tx, repo, visibility);
        await audit(tx, req, {
          kind: 'change_repo_visibility', namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo,
          metadata: { repo: repo.name, namespace: repo.namespace, visibility },
        });
      });
      return { success: true };
    },
  },
  {
    method: 'PUT',
    path: 'changestate',
    doc: documented("Set a repository's state (NORMAL or READ_ONLY)", ['repo:admin']).schema,
    async handler({ deps, req, repo: load }) {
      const repo = await load('admin');
      const { state } = parseInput(StateBody, req.body);
      await deps.db.transaction(async (tx) => {
        await setState(tx, repo, state);
        await audit(tx, req, {
          kind: 'change_repo_state', namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo,
          metadata: { repo: repo.name, namespace: repo.namespace, state_changed: state, previous_state: repo.state },
        });
      });
      return { success: true };
    },
  },
  {
    method: 'DELETE',
    path: '',
    doc: documented('Delete a repository', ['repo:admin']).schema,
    async handler({ deps, req, reply, repo: load }) {
      const repo = await load('admin');
      await deps.db.transaction(async (tx) => {
        await audit(tx, req, {
          kind: 'delete_repo', namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo,
          metadata: { repo: repo.name, namespace: repo.namespace },
        });
        await deleteRepository(tx, repo);
      });
      return reply.code(204).send();
    },
  },
];
