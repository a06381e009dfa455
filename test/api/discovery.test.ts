import assert from 'node:assert/strict';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';

interface Operation {
  operationId: string;
  summary: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string }[];
}

describe(`GET /api/v1/discovery (${TEST_DB})`, function () {
  let server: TestServer;
  let doc: {
    openapi: string;
    servers: { url: string }[];
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, any> };
  };

  before(async () => {
    // With builds on, so that the build endpoints (the log stream among them) are registered.
    server = await startServer({
      config: {
        FEATURE_BUILD_SUPPORT: true,
        EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'nowhere', PODMAN_HOST: 'unix:///nonexistent/podman.sock' }],
      },
    });
    const res = await fetch(`${server.url}/api/v1/discovery`);
    assert.equal(res.status, 200, 'anybody may read it');
    doc = (await res.json()) as typeof doc;
  });
  after(async () => server?.stop());

  it('is an OpenAPI 3 document of this server', () => {
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.servers[0]!.url, `http://${server.host}`);
    assert.deepEqual(Object.keys(doc.components.securitySchemes.oauth2.flows.authorizationCode.scopes).sort(), [
      'org:admin', 'repo:admin', 'repo:create', 'repo:read', 'repo:write', 'super:user', 'user:admin', 'user:read',
    ]);
    assert.equal(doc.components.securitySchemes.oauth2.flows.authorizationCode.tokenUrl, '/oauth/access_token');
  });

  it('lists the main endpoints, from the routes actually registered', () => {
    const has = (method: string, path: string) => assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is listed`);
    has('get', '/api/v1/user/');
    has('get', '/api/v1/discovery');
    has('post', '/api/v1/organization/');
    has('get', '/api/v1/organization/{orgname}');
    has('put', '/api/v1/organization/{orgname}/team/{teamname}');
    has('get', '/api/v1/organization/{orgname}/applications');
    has('post', '/api/v1/organization/{orgname}/applications/{client_id}/tokens');
    has('delete', '/api/v1/organization/{orgname}/applications/{client_id}/tokens/{token_uuid}');
    has('get', '/api/v1/organization/{orgname}/logs');
    has('get', '/api/v1/superuser/logs');
    has('post', '/api/v1/repository');
    // The repository router's sub-resources appear one by one, not as a wildcard.
    has('get', '/api/v1/repository/{repository}');
    has('get', '/api/v1/repository/{repository}/logs');
    has('post', '/api/v1/repository/{repository}/exportlogs');
    assert.equal(doc.paths['/api/v1/repository/{path}'], undefined);
    assert.ok(!Object.keys(doc.paths).some((p) => p.includes(':') || p.includes('*')), 'no Fastify syntax leaks into paths');
    for (const ops of Object.values(doc.paths)) assert.equal(ops.head, undefined, 'HEAD twins are left out');
  });

  it('documents the build-log stream once, with the repository as one {repository} parameter', () => {
    const streams = Object.keys(doc.paths).filter((p) => p.endsWith('/logs/stream'));
    assert.deepEqual(streams, ['/api/v1/repository/{repository}/build/{uuid}/logs/stream']);
    const op = doc.paths[streams[0]!]!.get!;
    assert.equal(op.summary, "Follow a build's log live (WebSocket)");
    assert.deepEqual(op.parameters!.map((p) => [p.name, p.in]), [['repository', 'path'], ['uuid', 'path']]);
    assert.ok(!Object.keys(doc.paths).some((p) => /\{n\d+\}|\{namespace\}/.test(p) && p.includes('/repository/')), 'no per-depth name components');
  });

  it('gives each operation a summary, an id, path parameters and its security', () => {
    const mint = doc.paths['/api/v1/organization/{orgname}/applications/{client_id}/tokens']!.post!;
    assert.equal(mint.summary, 'Mint an access token for the caller through the application');
    assert.deepEqual(mint.security, [{ oauth2: ['org:admin'] }, { basic: [] }]);
    assert.deepEqual(mint.parameters!.map((p) => [p.name, p.in]), [['orgname', 'path'], ['client_id', 'path']]);
    assert.deepEqual(doc.paths['/api/v1/discovery']!.get!.security, [], 'discovery needs no credentials');
    assert.deepEqual(doc.paths['/api/v1/superuser/logs']!.get!.security, [{ oauth2: ['super:user'] }, { basic: [] }]);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
    for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) assert.ok(op.summary, op.operationId);
  });
});
