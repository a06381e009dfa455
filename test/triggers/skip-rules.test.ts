import assert from 'node:assert/strict';
import { fullMatch, skipReason } from '../../triggers/skip-rules.js';
import type { TriggerMetadata } from '../../triggers/trigger-metadata.js';

const push = (ref: string, message = 'a change'): TriggerMetadata => ({
  commit: 'a'.repeat(40), ref, git_url: 'x', commit_info: { message },
});

describe('skip rules', () => {
  it('skips [skip build] and [build skip] anywhere in the message, and says so', () => {
    assert.match(skipReason({}, push('refs/heads/main', 'docs only [skip build]'))!, /says \[skip build\]/);
    assert.match(skipReason({}, push('refs/heads/main', 'first line\n\n[build skip] later'))!, /says \[build skip\]/);
    assert.equal(skipReason({}, push('refs/heads/main', 'skip build, no brackets')), null);
    assert.equal(skipReason({}, { commit: 'a'.repeat(40), git_url: 'x' }), null, 'no message, nothing to skip on');
  });

  it('builds only refs that fully match branchtag_regex, matched against heads/<b> or tags/<t>', () => {
    const config = { branchtag_regex: 'heads/main|tags/v.*' };
    assert.equal(skipReason(config, push('refs/heads/main')), null);
    assert.equal(skipReason(config, push('refs/tags/v1.0')), null);
    assert.match(skipReason(config, push('refs/heads/main-old'))!, /heads\/main-old does not match branchtag_regex/);
    assert.match(skipReason(config, push('refs/heads/feature'))!, /does not match/);
    assert.match(skipReason({ branchtag_regex: 'main' }, push('refs/heads/main'))!, /does not match/, 'the regex sees heads/main, not main');
  });

  it('applies the regex before the message', () => {
    assert.match(skipReason({ branchtag_regex: 'heads/main' }, push('refs/heads/dev', '[skip build]'))!, /branchtag_regex/);
  });

  it('matches the whole string, not a prefix (Quay\'s length check)', () => {
    assert.equal(fullMatch('heads/ma', 'heads/main'), false);
    assert.equal(fullMatch('heads/.*', 'heads/main'), true);
    assert.equal(fullMatch('a|heads/main', 'heads/main'), true, 'alternation binds inside the anchors');
  });
});
