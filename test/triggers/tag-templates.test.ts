import assert from 'node:assert/strict';
import { determineTags, parseRef, renderTemplate, templateProblem, TEMPLATE_VARIABLES, toTagName } from '../../triggers/tag-templates.js';
import type { TriggerMetadata } from '../../triggers/trigger-metadata.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';

const full: TriggerMetadata = {
  commit: SHA,
  ref: 'refs/heads/main',
  default_branch: 'main',
  git_url: 'git@example.com:team/app.git',
  commit_info: {
    url: 'https://example.com/team/app/commit/6113728',
    message: 'Add a feature',
    date: '2024-03-01T10:20:30+01:00',
    author: { username: 'Ada', url: 'https://example.com/ada', avatar_url: 'https://example.com/ada.png' },
    committer: { username: 'grace', url: 'https://example.com/grace', avatar_url: 'https://example.com/grace.png' },
  },
};

describe('tag templates', () => {
  it('renders every variable of the guide\'s list and of Quay\'s metadata schema', () => {
    const expected: Record<string, string | null> = {
      commit: SHA,
      ref: 'refs_heads_main',
      default_branch: 'main',
      git_url: 'git_example.com_team_app.git',
      'parsed_ref.branch': 'main',
      'parsed_ref.tag': null,
      'parsed_ref.remote': null,
      'commit_info.short_sha': '6113728',
      'commit_info.url': 'https___example.com_team_app_commit_6113728',
      'commit_info.message': 'Add_a_feature',
      'commit_info.date': '2024-03-01T10_20_30_01_00',
      'commit_info.author.username': 'Ada',
      'commit_info.author.url': 'https___example.com_ada',
      'commit_info.author.avatar_url': 'https___example.com_ada.png',
      'commit_info.committer.username': 'grace',
      'commit_info.committer.url': 'https___example.com_grace',
      'commit_info.committer.avatar_url': 'https___example.com_grace.png',
      'committer.properties.username': 'grace',
    };
    assert.deepEqual([...TEMPLATE_VARIABLES].sort(), Object.keys(expected).sort(), 'the list of variables');
    for (const [variable, tag] of Object.entries(expected)) {
      assert.equal(renderTemplate(`\${${variable}}`, full), tag, variable);
    }
  });

  it('fills tags and remotes from the ref', () => {
    assert.equal(renderTemplate('${parsed_ref.tag}', { ...full, ref: 'refs/tags/v1.2.3' }), 'v1.2.3');
    assert.equal(renderTemplate('${parsed_ref.remote}', { ...full, ref: 'refs/remotes/origin/dev' }), 'origin_dev');
    assert.deepEqual(parseRef('refs/heads/feature/x'), { branch: 'feature/x' });
    assert.deepEqual(parseRef('refs/pull/1/head'), {});
    assert.deepEqual(parseRef(undefined), {});
  });

  it('mixes text and variables', () => {
    assert.equal(renderTemplate('${parsed_ref.branch}-${commit_info.short_sha}', full), 'main-6113728');
    assert.equal(renderTemplate('build-${ commit_info.short_sha }', full), 'build-6113728');
    assert.equal(renderTemplate('stable', full), 'stable');
  });

  it('drops a template when a value it names is missing, as Quay does', () => {
    assert.equal(renderTemplate('${parsed_ref.tag}', full), null);
    const bare: TriggerMetadata = { commit: SHA, git_url: 'x' };
    assert.equal(renderTemplate('${commit_info.author.username}', bare), null);
    assert.equal(renderTemplate('${commit_info.short_sha}', bare), '6113728', 'short_sha is always there');
  });

  it('refuses unknown variables and broken templates with a reason', () => {
    assert.equal(templateProblem('${commit_info.short_sha}'), null);
    assert.equal(templateProblem('v1'), null);
    assert.match(templateProblem('${commit_info.nope}')!, /unknown variable \$\{commit_info\.nope\}/);
    assert.match(templateProblem('${author}')!, /unknown variable/);
    assert.match(templateProblem('x-${commit')!, /without closing/);
    assert.match(templateProblem('${}')!, /empty variable/);
    assert.match(templateProblem('')!, /empty/);
  });

  it('makes any string a valid tag name', () => {
    assert.equal(toTagName('feature/login'), 'feature_login');
    assert.equal(toTagName('.hidden'), 'hidden');
    assert.equal(toTagName('-x'), 'x');
    assert.equal(toTagName('ünïcode'), '_n_code');
    assert.equal(toTagName('a'.repeat(300))!.length, 128);
    assert.equal(toTagName('...'), null);
    for (const raw of ['a b', 'x:y', 'refs/heads/main', '__init__']) assert.match(toTagName(raw)!, /^[\w][\w.-]{0,127}$/);
  });
});

describe('determining the tags of a triggered build', () => {
  it('uses the templates, then the branch name and latest on the default branch', () => {
    assert.deepEqual(determineTags({ tag_templates: ['${commit_info.short_sha}'] }, full), ['6113728', 'main', 'latest']);
  });

  it('adds no latest off the default branch, and names the branch valid', () => {
    assert.deepEqual(determineTags({}, { ...full, ref: 'refs/heads/feature/x' }), ['feature_x']);
  });

  it('tags a tag push with the tag name and never latest', () => {
    assert.deepEqual(determineTags({}, { ...full, ref: 'refs/tags/v1.0' }), ['v1.0']);
  });

  it('honours default_tag_from_ref and latest_for_default_branch switched off', () => {
    assert.deepEqual(determineTags({ default_tag_from_ref: false }, full), ['latest']);
    assert.deepEqual(determineTags({ latest_for_default_branch: false }, full), ['main']);
    assert.deepEqual(determineTags({ default_tag_from_ref: false, latest_for_default_branch: false, tag_templates: ['v-${parsed_ref.tag}'] }, full), ['6113728'],
      'the short SHA when nothing else applies');
  });

  it('falls back to the short SHA for a commit without a ref', () => {
    assert.deepEqual(determineTags({}, { commit: SHA, git_url: 'x' }), ['6113728']);
  });

  it('keeps the first of repeated tags and the order', () => {
    assert.deepEqual(determineTags({ tag_templates: ['latest', '${parsed_ref.branch}', 'x'] }, full), ['latest', 'main', 'x']);
  });
});
