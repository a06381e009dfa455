import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { prepareContext, resolvePaths, fetchArchive, type ContextPaths } from '../../buildman/context.js';
import { DOCKERFILE, makeTar, makeTarGz, makeZip } from './archives.js';

describe('buildman build context', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-ctx-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function prepare(bytes: Buffer | string, paths: ContextPaths = {}) {
    const upload = path.join(dir, `upload-${Math.random()}`);
    writeFileSync(upload, bytes);
    return prepareContext(dir, upload, paths);
  }
  async function listTar(file: string): Promise<string[]> {
    const names: string[] = [];
    await tar.list({ file, onReadEntry: (e) => void names.push(e.path) });
    return names.map((n) => n.replace(/^\.\//, '')).filter((n) => n && n !== './').sort();
  }

  it('accepts a bare Dockerfile, a .tar, a .tar.gz and a .zip', async () => {
    const bare = await prepare(DOCKERFILE);
    assert.deepEqual(await listTar(bare.tarPath), ['Dockerfile']);
    assert.equal(bare.dockerfilePath, 'Dockerfile');
    const entries = [{ name: 'Dockerfile', body: DOCKERFILE }, { name: 'app/', type: '5' as const }, { name: 'app/main.sh', body: 'echo' }, { name: 'app/link', type: '2' as const, linkname: 'main.sh' }];
    for (const bytes of [makeTar(entries), makeTarGz(entries)]) {
      const p = await prepare(bytes);
      assert.deepEqual(await listTar(p.tarPath), ['Dockerfile', 'app/', 'app/link', 'app/main.sh']);
    }
    const z = await prepare(makeZip({ Dockerfile: DOCKERFILE, 'app/main.sh': 'echo' }));
    assert.ok((await listTar(z.tarPath)).includes('app/main.sh'));
  });

  it('refuses ../ paths, absolute paths and links leaving the context, naming the entry', async () => {
    const df = { name: 'Dockerfile', body: DOCKERFILE };
    const cases: [Buffer, RegExp][] = [
      [makeTar([df, { name: '../evil', body: 'x' }]), /leaves the context \(entry \.\.\/evil\)/],
      [makeTar([df, { name: 'a/../../evil', body: 'x' }]), /leaves the context/],
      [makeTar([df, { name: '/etc/passwd', body: 'x' }]), /absolute path \(entry \/etc\/passwd\)/],
      [makeTar([df, { name: 'link', type: '2', linkname: '/etc/shadow' }]), /link pointing outside the context \(link -> \/etc\/shadow\)/],
      [makeTar([df, { name: 'a/link', type: '2', linkname: '../../x' }]), /link pointing outside/],
      [makeTar([df, { name: 'hard', type: '1', linkname: '../x' }]), /link pointing outside/],
      [makeTarGz([df, { name: '../evil', body: 'x' }]), /leaves the context/],
      [makeTar([df, { name: 'dev', type: '3' }]), /CharacterDevice entry/],
      [makeZip({ Dockerfile: DOCKERFILE, link: 'link:/etc/passwd' }), /link pointing outside the context/],
    ];
    for (const [bytes, re] of cases) {
      await assert.rejects(prepare(bytes), (err: Error & { kind?: string }) => {
        assert.equal(err.kind, 'invalid', err.message);
        assert.match(err.message, re);
        return true;
      });
    }
  });

  it('a missing Dockerfile or a dockerfile_path that does not exist is a clear error', async () => {
    await assert.rejects(prepare(makeTar([{ name: 'README', body: 'x' }])), /no Dockerfile at \/Dockerfile/);
    await assert.rejects(prepare(makeTar([{ name: 'Dockerfile', body: DOCKERFILE }]), { dockerfile_path: 'sub/Dockerfile.prod' }), /no folder sub|no Dockerfile at \/sub\/Dockerfile.prod/);
    await assert.rejects(prepare(Buffer.from([0, 1, 2, 3, 0, 0])), /neither a Dockerfile nor/);
  });

  it("follows Quay's rules for subdirectory, dockerfile_path and context", async () => {
    assert.deepEqual(resolvePaths({}), { context: '', dockerfile: 'Dockerfile' });
    assert.deepEqual(resolvePaths({ subdirectory: '/web/' }), { context: 'web', dockerfile: 'web/Dockerfile' });
    assert.deepEqual(resolvePaths({ dockerfile_path: '/web/Dockerfile.prod' }), { context: 'web', dockerfile: 'web/Dockerfile.prod' });
    assert.deepEqual(resolvePaths({ dockerfile_path: 'web/Dockerfile', context: '/' }), { context: '', dockerfile: 'web/Dockerfile' });
    assert.deepEqual(resolvePaths({ context: 'svc' }), { context: 'svc', dockerfile: 'svc/Dockerfile' });
    assert.throws(() => resolvePaths({ subdirectory: 'a', dockerfile_path: 'b' }), /not both/);
    const p = await prepare(makeTar([{ name: 'web/Dockerfile.prod', body: DOCKERFILE }, { name: 'web/index.html', body: 'x' }]), { dockerfile_path: '/web/Dockerfile.prod' });
    assert.equal(p.dockerfilePath, 'Dockerfile.prod');
    assert.equal(p.context, '/web');
    assert.deepEqual(await listTar(p.tarPath), ['Dockerfile.prod', 'index.html']);
  });

  it('archive_url: only http(s), and an unreachable URL is a clear error', async () => {
    await assert.rejects(fetchArchive('file:///etc/passwd', path.join(dir, 'x'), { timeoutMs: 1000 }), /must be http or https, not file/);
    await assert.rejects(fetchArchive('ftp://example.com/x.tar', path.join(dir, 'x'), { timeoutMs: 1000 }), /must be http or https/);
    await assert.rejects(fetchArchive('http://127.0.0.1:1/x.tar', path.join(dir, 'x'), { timeoutMs: 2000 }), /archive_url did not answer/);
  });
});
