// Reads a pushed manifest: decides its media type, checks its structure, and lists what it
// references. Pure: whether the references exist is the metadata layer's question.
import { regErr } from '../errors.js';
import { parseDigest } from '../digest.js';
import {
  bareMediaType, DOCKER_SCHEMA1, isManifestMediaType, MANIFEST_SHAPES, OCI_INDEX, OCI_MANIFEST,
  type ManifestShape,
} from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  shape: ManifestShape;
  configDigest: string | null;
  /** Blobs the repository must hold: the config and the layers, foreign layers excepted. */
  blobs: string[];
  /** Manifests the repository must hold: an index's children. */
  children: string[];
  /** The manifest this one refers to; it need not exist yet. */
  subject: string | null;
  /** What a referrers listing shows: `artifactType`, else (for images) the config's media type. */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

const MEDIA_TYPE_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
// Layers the registry is not expected to hold: they are fetched from their `urls`.
const FOREIGN_LAYER_RE = /^application\/vnd\.(docker\.image\.rootfs\.foreign\.|oci\.image\.layer\.nondistributable\.)/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const invalid = (message: string, field?: string) => regErr('MANIFEST_INVALID', message, field ? { field } : undefined);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(bytes: Uint8Array): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw invalid(`manifest is not well-formed JSON: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw invalid('manifest must be a JSON object');
  return body;
}

function optionalMediaType(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !MEDIA_TYPE_RE.test(value)) throw invalid(`${field} must be a media type`, field);
  return value;
}

function annotationsOf(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(`${field} must map strings to strings`, field);
  }
  return value as Record<string, string>;
}

export function parseDescriptor(value: unknown, field: string): Descriptor {
  if (!isObject(value)) throw invalid(`${field} must be a descriptor object`, field);
  const mediaType = optionalMediaType(value.mediaType, `${field}.mediaType`);
  if (mediaType === undefined) throw invalid(`${field}.mediaType is required`, `${field}.mediaType`);
  if (typeof value.digest !== 'string' || !parseDigest(value.digest)) throw invalid(`${field}.digest is not a valid sha256 or sha512 digest`, `${field}.digest`);
  const { size } = value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${field}.size must be a non-negative integer`, `${field}.size`);
  }
  const urls = value.urls;
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${field}.urls must be a list of strings`, `${field}.urls`);
  }
  return {
    mediaType, digest: value.digest, size,
    artifactType: optionalMediaType(value.artifactType, `${field}.artifactType`),
    urls: urls as string[] | undefined,
    annotations: annotationsOf(value.annotations, `${field}.annotations`),
  };
}

function descriptorList(value: unknown, field: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be a list of descriptors`, field);
  return value.map((d, i) => parseDescriptor(d, `${field}[${i}]`));
}

/**
 * The manifest's media type: the body's `mediaType` when it has one, which the Content-Type
 * must then agree with; otherwise the Content-Type, or failing that the body's shape.
 */
function resolveMediaType(body: Record<string, unknown>, contentType: string | undefined): string {
  const header = bareMediaType(contentType);
  const declared = optionalMediaType(body.mediaType, 'mediaType')?.toLowerCase();
  if (DOCKER_SCHEMA1.includes(declared ?? header) || body.schemaVersion === 1) {
    throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  }
  if (declared !== undefined) {
    if (header && header !== declared) {
      throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${declared}`, 'mediaType');
    }
    if (!isManifestMediaType(declared)) throw invalid(`unsupported manifest media type ${declared}`, 'mediaType');
    return declared;
  }
  if (header) {
    if (!isManifestMediaType(header)) throw invalid(`unsupported manifest media type ${header}`, 'mediaType');
    return header;
  }
  return Array.isArray(body.manifests) ? OCI_INDEX : OCI_MANIFEST;
}

function isForeign(layer: Descriptor): boolean {
  return FOREIGN_LAYER_RE.test(layer.mediaType) || (layer.urls?.length ?? 0) > 0;
}

/** Parses and validates a pushed manifest; throws MANIFEST_INVALID naming what is wrong. */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  const body = decodeJson(bytes);
  const mediaType = resolveMediaType(body, contentType);
  if (body.schemaVersion !== 2) throw invalid('schemaVersion must be 2', 'schemaVersion');
  const shape = MANIFEST_SHAPES[mediaType]!;
  const subject = body.subject === undefined ? null : parseDescriptor(body.subject, 'subject').digest;
  const declaredArtifactType = optionalMediaType(body.artifactType, 'artifactType') ?? null;
  const annotations = annotationsOf(body.annotations, 'annotations') ?? null;

  if (shape === 'index') {
    const manifests = descriptorList(body.manifests, 'manifests');
    return {
      mediaType, shape, configDigest: null, blobs: [], subject, annotations,
      children: [...new Set(manifests.map((m) => m.digest))],
      artifactType: declaredArtifactType,
    };
  }
  const config = parseDescriptor(body.config, 'config');
  const layers = descriptorList(body.layers, 'layers');
  const blobs = [config, ...layers.filter((l) => !isForeign(l))].map((d) => d.digest);
  return {
    mediaType, shape, configDigest: config.digest, blobs: [...new Set(blobs)], children: [], subject, annotations,
    artifactType: declaredArtifactType ?? config.mediaType,
  };
}
