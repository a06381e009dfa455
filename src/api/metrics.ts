import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Groups a URL into a low-cardinality label (never a repository name or digest). */
export function routeFamily(url: string): string {
  const path = url.split('?', 1)[0]!;
  if (path.startsWith('/v2/')) {
    const m = /\/(blobs\/uploads|blobs|manifests|tags|referrers)(\/|$)/.exec(path);
    if (m) return `v2_${m[1]!.replace('/', '_')}`;
    return path === '/v2/' ? 'v2_base' : path.startsWith('/v2/auth') ? 'v2_auth' : path.startsWith('/v2/_catalog') ? 'v2_catalog' : 'v2_other';
  }
  if (path.startsWith('/api/')) return 'api';
  return 'other';
}

export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'slipway_' });
  const requests = new Counter({
    name: 'slipway_http_requests_total', help: 'HTTP requests answered', labelNames: ['route', 'method', 'status'], registers: [registry],
  });
  const duration = new Histogram({
    name: 'slipway_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route', 'method'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = routeFamily(req.url);
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    duration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
