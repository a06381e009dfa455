import { z } from 'zod';
import { requireUser, type Account } from '../auth/accounts.js';
import { createUserWithGeneratedPassword, deleteUser, listUsers } from '../auth/users.js';
import { invalid } from '../errors.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

/** A user as Quay's superuser panel lists it. */
function managedUserView(user: Account) {
  return {
    kind: 'user',
    name: user.name,
    username: user.name,
    email: user.email,
    verified: true,
    avatar: avatarOf(user.name, 'user', user.email),
    super_user: user.superuser,
    enabled: user.enabled,
  };
}

const NewUser = z.strictObject({
  username: z.string(),
  email: z.string(),
});

export const superuserRoutes: ApiModule = (app, deps) => {
  app.get('/superuser/users/', documented('List every user', ['super:user']), async (req) => {
    await authorize(deps, req, { on: 'superuser' });
    const { disabled } = req.query as { disabled?: string };
    const users = await listUsers(deps.db, { includeDisabled: disabled !== 'false' });
    return { users: users.map(managedUserView) };
  });

  // As the seed shows: the superuser gets the generated password once, to hand to the new user.
  app.post('/superuser/users/', documented('Create a user with a generated password', ['super:user']), async (req) => {
    await authorize(deps, req, { on: 'superuser' });
    const input = parseInput(NewUser, req.body);
    const { user, password } = await deps.db.transaction(async (tx) => {
      const created = await createUserWithGeneratedPassword(tx, input);
      await audit(tx, req, {
        kind: 'user_create', namespace: { id: created.user.id, name: created.user.name },
        metadata: { username: created.user.name, email: created.user.email, created_by_superuser: true },
      });
      return created;
    });
    // Quay's encrypted_password is the password sealed with its secret key, which Quay accepts
    // in place of the password at docker login. Slipway accepts no sealed form, so the one value
    // that logs in is the password itself: it is a full credential either way, and it is already
    // in this answer, so repeating it exposes nothing more.
    return { username: user.name, email: user.email, password, encrypted_password: password };
  });

  app.delete('/superuser/users/:username', documented('Delete a user', ['super:user']), async (req, reply) => {
    await authorize(deps, req, { on: 'superuser' });
    const { username } = req.params as { username: string };
    await deps.db.transaction(async (tx) => {
      const user = await requireUser(tx, username);
      // Quay's rule: superusers are managed in the configuration, not from the panel.
      if (user.superuser) throw invalid('username', `${username} is a superuser and cannot be deleted from the superuser API`);
      await deleteUser(tx, user);
      await audit(tx, req, { kind: 'user_delete', namespace: { id: user.id, name: user.name }, metadata: { username: user.name } });
    });
    return reply.code(204).send();
  });
};
