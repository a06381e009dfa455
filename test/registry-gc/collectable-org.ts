// An organization whose deleted tags are collectable at once (time machine window 0s), owned by alice.
import assert from 'node:assert/strict';
import { basic, type TestServer } from '../support/server.js';

export const ALICE = { user: 'alice', password: 'alice-password-1' };

export async function collectableOrg(server: TestServer, org: string): Promise<void> {
  await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  await server.cli('admin', 'create-org', org, '--owner', ALICE.user);
  const res = await fetch(`${server.url}/api/v1/organization/${org}`, {
    method: 'PUT', headers: { authorization: basic(ALICE.user, ALICE.password), 'content-type': 'application/json' },
    body: JSON.stringify({ tag_expiration_s: 0 }),
  });
  assert.equal(res.status, 200, await res.text());
}
