import assert from 'node:assert/strict';
import { RegistryError } from '../../registry/errors.js';
import { digestOf } from '../../registry/digest.js';
import {
  accepts, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
} from '../../registry/manifest/media-types.js';
import { parseManifest } from '../../registry/manifest/parse.js';
import { createContentCache } from '../../registry/manifest/content-cache.js';

const d = (s: string) => digestOf(Buffer.from(s));
const CONFIG = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('config'), size: 6 };
const LAYER = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('layer'), size: 5 };

const bytes = (body: unknown) => Buffer.from(JSON.stringify(body));
const image = (extra: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: CONFIG, layers: [LAYER], ...extra });

function rejects(body: Uint8Array | unknown, contentType: string | undefined, code: string, pattern?: RegExp): void {
  const raw = body instanceof Uint8Array ? body : bytes(body);
  assert.throws(
    () => parseManifest(raw, contentType),
    (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.code, code);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('manifest validation', () => {
  describe('image manifests', () => {
    it('lists the config and layers as the blobs the repository must hold', () => {
      const m = parseManifest(bytes(image()), OCI_MANIFEST);
      assert.equal(m.mediaType, OCI_MANIFEST);
      assert.equal(m.shape, 'image');
      assert.equal(m.configDigest, CONFIG.digest);
      assert.deepEqual(m.blobs, [CONFIG.digest, LAYER.digest]);
      assert.deepEqual(m.children, []);
      assert.equal(m.subject, null);
      assert.equal(m.artifactType, CONFIG.mediaType);
    });

    it('accepts a Docker schema 2 manifest and a Content-Type with parameters', () => {
      const m = parseManifest(bytes(image({ mediaType: DOCKER_MANIFEST })), `${DOCKER_MANIFEST}; charset=utf-8`);
      assert.equal(m.mediaType, DOCKER_MANIFEST);
    });

    it('lists a blob named twice once, and skips foreign layers', () => {
      const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('win'), size: 9, urls: ['https://x'] };
      const m = parseManifest(bytes(image({ layers: [LAYER, LAYER, foreign] })), OCI_MANIFEST);
      assert.deepEqual(m.blobs, [CONFIG.digest, LAYER.digest]);
    });

    it('reads an artifact: artifactType, empty config, subject and annotations', () => {
      const subject = { mediaType: OCI_MANIFEST, digest: d('subject'), size: 100 };
      const m = parseManifest(
        bytes(image({
          artifactType: 'application/vnd.example.sbom',
          config: { mediaType: OCI_EMPTY, digest: d('{}'), size: 2 },
          subject,
          annotations: { 'org.example': 'yes' },
        })),
        OCI_MANIFEST,
      );
      assert.equal(m.artifactType, 'application/vnd.example.sbom');
      assert.equal(m.subject, subject.digest);
      assert.deepEqual(m.annotations, { 'org.example': 'yes' });
    });
  });

  describe('indexes', () => {
    const child = { mediaType: OCI_MANIFEST, digest: d('child'), size: 300, platform: { os: 'linux', architecture: 'amd64' } };

    it('lists child manifests, not blobs', () => {
      const m = parseManifest(bytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [child] }), OCI_INDEX);
      assert.equal(m.shape, 'index');
      assert.deepEqual(m.children, [child.digest]);
      assert.deepEqual(m.blobs, []);
      assert.equal(m.artifactType, null);
    });

    it('accepts a Docker manifest list', () => {
      const m = parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [{ ...child, mediaType: DOCKER_MANIFEST }] }), DOCKER_MANIFEST_LIST);
      assert.equal(m.mediaType, DOCKER_MANIFEST_LIST);
    });

    it('requires a manifests list', () => {
      rejects({ schemaVersion: 2, mediaType: OCI_INDEX }, OCI_INDEX, 'MANIFEST_INVALID', /manifests/);
    });
  });

  describe('media type', () => {
    it('refuses a Content-Type that disagrees with the body', () => {
      rejects(image(), OCI_INDEX, 'MANIFEST_INVALID', /does not match/);
      rejects(image(), DOCKER_MANIFEST, 'MANIFEST_INVALID', /does not match/);
    });

    it('takes the Content-Type when the body names no media type', () => {
      const { mediaType: _omit, ...body } = image();
      assert.equal(parseManifest(bytes(body), OCI_MANIFEST).mediaType, OCI_MANIFEST);
      rejects(body, 'application/json', 'MANIFEST_INVALID', /unsupported/);
    });

    it('infers the type from the shape when neither says', () => {
      const { mediaType: _omit, ...body } = image();
      assert.equal(parseManifest(bytes(body), undefined).mediaType, OCI_MANIFEST);
      assert.equal(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), undefined).mediaType, OCI_INDEX);
    });

    it('refuses Docker schema 1 and unknown types', () => {
      rejects({ schemaVersion: 1, name: 'a/b', tag: 'x', fsLayers: [] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'MANIFEST_INVALID', /schema 1/);
      rejects(image({ mediaType: 'application/vnd.example+json' }), 'application/vnd.example+json', 'MANIFEST_INVALID', /unsupported/);
    });
  });

  describe('malformed input', () => {
    it('refuses what is not a JSON object', () => {
      rejects(Buffer.from('{"schemaVersion": 2,'), OCI_MANIFEST, 'MANIFEST_INVALID', /well-formed/);
      rejects(Buffer.from('[]'), OCI_MANIFEST, 'MANIFEST_INVALID', /object/);
      rejects(Buffer.from([0x7b, 0xff, 0x7d]), OCI_MANIFEST, 'MANIFEST_INVALID', /well-formed/);
    });

    it('names the bad field of a descriptor', () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ config: { ...CONFIG, digest: 'sha256:abc' } }, /config\.digest/],
        [{ config: { ...CONFIG, digest: `md5:${'a'.repeat(32)}` } }, /config\.digest/],
        [{ layers: [{ ...LAYER, size: -1 }] }, /layers\[0\]\.size/],
        [{ layers: [{ ...LAYER, size: 1.5 }] }, /layers\[0\]\.size/],
        [{ layers: [{ digest: LAYER.digest, size: 1 }] }, /layers\[0\]\.mediaType/],
        [{ layers: {} }, /layers must be a list/],
        [{ config: undefined }, /config must be a descriptor/],
        [{ subject: { mediaType: OCI_MANIFEST, digest: 'nope', size: 1 } }, /subject\.digest/],
        [{ annotations: { a: 1 } }, /annotations/],
        [{ schemaVersion: 3 }, /schemaVersion/],
      ];
      for (const [extra, pattern] of cases) rejects(image(extra), OCI_MANIFEST, 'MANIFEST_INVALID', pattern);
    });
  });
});

describe('Accept negotiation', () => {
  it('admits anything without a header or with a wildcard', () => {
    assert.ok(accepts(undefined, OCI_MANIFEST));
    assert.ok(accepts('', OCI_MANIFEST));
    assert.ok(accepts('*/*', OCI_MANIFEST));
    assert.ok(accepts('application/*', OCI_MANIFEST));
  });

  it('admits only the listed types, across repeated headers and parameters', () => {
    assert.ok(accepts([`${DOCKER_MANIFEST}`, `${OCI_MANIFEST};q=0.5`], OCI_MANIFEST));
    assert.ok(!accepts(`${DOCKER_MANIFEST}, ${DOCKER_MANIFEST_LIST}`, OCI_MANIFEST));
    assert.ok(!accepts(`${OCI_MANIFEST};q=0`, OCI_MANIFEST));
  });
});

describe('the manifest content cache', () => {
  it('evicts the least recently used entries past its byte budget', () => {
    const cache = createContentCache(10);
    cache.set('a', Buffer.alloc(4));
    cache.set('b', Buffer.alloc(4));
    cache.get('a');
    cache.set('c', Buffer.alloc(4));
    assert.ok(cache.get('a'));
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('c'));
    cache.set('huge', Buffer.alloc(11));
    assert.equal(cache.get('huge'), undefined);
  });
});
