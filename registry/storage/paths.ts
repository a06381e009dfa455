// The storage layout, relative to the driver's root. This file is the only place that builds
// a storage path; everything else asks it through a typed spec.
//
//   /
//   ├── blobs/
//   │   ├── sha256/
//   │   │   └── <first 2 hex>/          fan-out, so no directory holds millions of entries
//   │   │       └── <hex>/
//   │   │           └── data            a blob's bytes; only ever placed here by a rename, after
//   │   │                               its digest was verified, so what is here is whole
//   │   └── sha512/…                    the same, for sha512 digests
//   └── uploads/
//       └── <upload id>/
//           └── data                    the bytes received so far; after a crash it may run past
//                                       the size the database recorded, and is cut back to it
//
// A monolithic upload (POST ?digest=) is an upload with a fresh id and no database row.

import type { Digest } from '../digest.js';

export type PathSpec =
  | { kind: 'blobDir'; digest: Digest }
  | { kind: 'blobData'; digest: Digest }
  | { kind: 'uploadDir'; uploadId: string }
  | { kind: 'uploadData'; uploadId: string };

// Upload ids come from URLs: anything but our own ids must never reach a path.
const UPLOAD_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUploadId(id: string): boolean {
  return UPLOAD_ID_RE.test(id);
}

function uploadDir(uploadId: string): string {
  if (!isUploadId(uploadId)) throw new Error(`not an upload id: ${JSON.stringify(uploadId)}`);
  return `/uploads/${uploadId}`;
}

export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobDir': {
      const { algorithm, hex } = spec.digest;
      return `/blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
    }
    case 'blobData':
      return `${pathFor({ kind: 'blobDir', digest: spec.digest })}/data`;
    case 'uploadDir':
      return uploadDir(spec.uploadId);
    case 'uploadData':
      return `${uploadDir(spec.uploadId)}/data`;
  }
}
