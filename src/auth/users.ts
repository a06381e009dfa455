// User accounts as the API manages them: registration, creation by a superuser, listing, deletion.
import { randomInt } from 'node:crypto';
import { createUser, requireUser, toAccount, type Account } from './accounts.js';
import { isNamespaceName } from './names.js';
import { orgsSolelyAdministeredBy } from './teams.js';
import type { Queryable } from '../db/index.js';
import { conflict, DomainError, invalid } from '../errors.js';

const GENERATED_PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A password as Quay generates one for a user a superuser creates: 32 uppercase letters and digits. */
export function generatePassword(): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += GENERATED_PASSWORD_ALPHABET[randomInt(GENERATED_PASSWORD_ALPHABET.length)];
  return out;
}

// Checked here as well as in createUser so that the 400 names the field the API client sent.
function checkUsername(name: string): void {
  if (!isNamespaceName(name)) throw invalid('username', `invalid username ${JSON.stringify(name)}: use 2–255 lowercase letters, digits, and . _ - between them`);
}

async function insertUser(db: Queryable, input: { username: string; password: string; email: string }): Promise<Account> {
  checkUsername(input.username);
  try {
    return await createUser(db, { name: input.username, email: input.email, password: input.password });
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'conflict') throw conflict(`the name ${input.username} is already taken by a user or organization`, 'username');
    throw err;
  }
}

export async function registerUser(db: Queryable, input: { username: string; password: string; email: string }): Promise<Account> {
  return insertUser(db, input);
}

/** Creates a user with a generated password, which is returned once and stored only as a hash. */
export async function createUserWithGeneratedPassword(db: Queryable, input: { username: string; email: string }): Promise<{ user: Account; password: string }> {
  const password = generatePassword();
  const user = await insertUser(db, { ...input, password });
  return { user, password };
}

export async function listUsers(db: Queryable, opts: { includeDisabled: boolean }): Promise<Account[]> {
  const q = db('accounts').where({ kind: 'user' }).orderBy('name');
  if (!opts.includeDisabled) q.where({ enabled: true });
  return ((await q) as Record<string, unknown>[]).map(toAccount);
}

/**
 * Deletes a user with its repositories, robots, memberships and permissions. Refused while the
 * user is the last administrator of an organization: the organization would be left unmanaged.
 */
export async function deleteUser(db: Queryable, user: Account): Promise<void> {
  await db.transaction(async (tx) => {
    const current = await requireUser(tx, user.name);
    const orphaned = await orgsSolelyAdministeredBy(tx, current);
    if (orphaned.length > 0) {
      throw conflict(`${current.name} is the last administrator of ${orphaned.join(', ')}: add another administrator or delete the organization first`, 'username');
    }
    await tx('accounts').where({ id: current.id, kind: 'user' }).delete();
  });
}
