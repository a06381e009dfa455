// The manifest media types the registry stores, and which of them a client's Accept admits.

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

// Schema 1 is deprecated and signed; we refuse it rather than store what we cannot verify.
export const DOCKER_SCHEMA1 = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

/** An image (config + layers) or an index (a list of child manifests). */
export type ManifestShape = 'image' | 'index';

export const MANIFEST_SHAPES: Readonly<Record<string, ManifestShape>> = {
  [OCI_MANIFEST]: 'image',
  [DOCKER_MANIFEST]: 'image',
  [OCI_INDEX]: 'index',
  [DOCKER_MANIFEST_LIST]: 'index',
};

export function isManifestMediaType(type: string): boolean {
  return Object.hasOwn(MANIFEST_SHAPES, type);
}

/** `type/subtype` without parameters, lowercased; '' when the header is absent. */
export function bareMediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Whether an Accept header admits `mediaType`. No header (or an empty one) admits anything, as
 * does a wildcard; an entry with q=0 explicitly refuses.
 */
export function accepts(accept: string | string[] | undefined, mediaType: string): boolean {
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  if (!header || !header.trim()) return true;
  const [major] = mediaType.split('/', 1);
  for (const entry of header.split(',')) {
    const [range, ...params] = entry.split(';').map((s) => s.trim().toLowerCase());
    if (!range) continue;
    if (params.some((p) => /^q\s*=\s*0(\.0*)?$/.test(p))) continue;
    if (range === '*/*' || range === mediaType || range === `${major}/*`) return true;
  }
  return false;
}
