// The whole loop on the real server: pushes start builds, the builds really run and fail (the
// clone URL answers nobody), the trigger switches itself off and refuses pushes, and once
// re-enabled through the API it builds again.
import assert from 'node:assert/strict';
import { TEST_DB } from '../support/server.js';
import { API, startTriggerServer, waitFor, type Activated, type Harness } from './trigger-harness.js';

const FINAL = ['complete', 'error', 'internalerror', 'cancelled'];

describe(`auto-disabling triggers on the server (${TEST_DB})`, function () {
  this.timeout(180_000);
  let h: Harness;
  let trigger: Activated;

  before(async () => {
    h = await startTriggerServer({ SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD: 2, SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD: 2 });
    trigger = await h.activated('custom-git');
  });
  after(async () => h?.stop());

  const push = (n: number) => {
    const url = new URL(trigger.webhook_url);
    const auth = 'Basic ' + Buffer.from(`$token:${decodeURIComponent(url.password)}`).toString('base64');
    const body = JSON.stringify({ commit: n.toString(16).padStart(40, 'e'), ref: 'refs/heads/main', default_branch: 'main' });
    return h.webhook(trigger.id, body, { 'content-type': 'application/json', authorization: auth });
  };

  async function pushAndFail(n: number): Promise<any> {
    const r = await push(n);
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    return waitFor(`build ${r.body.build_id} to end`, async () => {
      const b = await h.req('GET', `${API}/build/${r.body.build_id}`);
      return FINAL.includes(b.body.phase) ? b.body : null;
    }, 120_000);
  }

  it('is disabled after its threshold of failed builds, stops building, and builds again once re-enabled', async () => {
    const first = await pushAndFail(1);
    assert.ok(['error', 'internalerror'].includes(first.phase), first.phase);
    let view = (await h.req('GET', `${API}/trigger/${trigger.id}`)).body;
    assert.equal(view.enabled, true, 'one failure is below the threshold');
    await pushAndFail(2);
    view = (await h.req('GET', `${API}/trigger/${trigger.id}`)).body;
    assert.equal(view.enabled, false);
    assert.match(view.disabled_reason, /^successive_build_(failures|internal_errors)$/);

    const refused = await push(3);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error_message, new RegExp(`disabled \\(${view.disabled_reason}\\)`));
    assert.equal((await h.builds(trigger.id)).length, 2, 'no build for the refused push');

    const on = await h.req('PUT', `${API}/trigger/${trigger.id}`, { json: { enabled: true } });
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.successive_failure_count, 0);
    assert.equal(on.body.successive_internal_error_count, 0);
    const again = await push(4);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'queued');
    assert.equal((await h.builds(trigger.id)).length, 3);
  });
});
