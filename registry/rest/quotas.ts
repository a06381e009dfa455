// Quay's namespace quota API (endpoints/api/namespacequota.py): organization members (and
// superusers) read a quota, its limits and the usage, with no particular scope, as Quay states
// none; only superusers (super:user) change them; one's own quota needs user:admin, as Quay's
// require_user_admin.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireOrganization, type Account } from '../../src/auth/accounts.js';
import { audit, authorize, type ApiDeps, type ApiModule } from '../../src/api/context.js';
import { documented } from '../../src/api/route-docs.js';
import { parseInput } from '../../src/api/validate.js';
import { callerAccount } from '../../src/api/users.js';
import { invalid } from '../../src/errors.js';
import { namespaceQuotaReport } from '../../src/repos/namespace-size.js';
import { reclaimableBytes } from '../gc/reclaimable.js';
import { formatByteSize, parseByteSize } from '../quota/byte-size.js';
import {
  addLimit, changeLimit, changeQuota, createQuota, deleteLimit, deleteQuota, findQuota, LIMIT_TYPES, requireLimit, requireQuota,
  type Quota, type QuotaLimit,
} from '../quota/quota-store.js';
import { quotaEvents } from '../quota/enforce.js';

const limitBytes = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** `limit_bytes` or Quay's human `limit` ("10 GiB"), exactly one of them. */
const QuotaBody = z.strictObject({ limit_bytes: limitBytes.optional(), limit: z.string().optional() });

const percent = z.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100');
const limitType = z.enum(LIMIT_TYPES, { message: 'must be Warning or Reject' });
const NewLimit = z.strictObject({ type: limitType, threshold_percent: percent });
const LimitChange = z.strictObject({ type: limitType.optional(), threshold_percent: percent.optional() });

function bytesFrom(body: z.output<typeof QuotaBody>): number {
  if ((body.limit_bytes === undefined) === (body.limit === undefined)) throw invalid('limit_bytes', 'give exactly one of limit_bytes and limit');
  return body.limit_bytes ?? parseByteSize(body.limit!);
}

function idParam(req: FastifyRequest, key: 'quota_id' | 'limit_id'): number {
  const raw = (req.params as Record<string, string>)[key]!;
  if (!/^\d{1,15}$/.test(raw)) throw invalid(key, `${key}: ${JSON.stringify(raw)} is not an id`);
  return Number(raw);
}

const limitView = (l: QuotaLimit) => ({ id: l.id, type: l.type, limit_percent: l.percent });

async function quotaView(deps: ApiDeps, org: Account, quota: Quota | null) {
  const systemDefault = deps.config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES;
  const bytes = quota?.limitBytes ?? systemDefault;
  const report = await namespaceQuotaReport(deps.db, org.id, systemDefault);
  return {
    id: quota?.id ?? null,
    limit_bytes: bytes,
    limit: formatByteSize(bytes),
    default_config: !quota,
    limits: quota ? quota.limits.map(limitView) : [{ id: null, type: 'Reject', limit_percent: 100 }],
    default_config_exists: systemDefault > 0,
    // Beyond Quay's shape: what is used now, and what the next garbage collection pass frees.
    usage_bytes: report.quota_bytes,
    reclaimable_bytes: await reclaimableBytes(deps.db, org.id, deps.config.GC_GRACE_SECONDS),
  };
}

export const quotaRoutes: ApiModule = (app, deps) => {
  if (!deps.config.FEATURE_QUOTA_MANAGEMENT) return;
  const base = '/organization/:orgname/quota';

  /** The organization, once the caller may read (a member or a superuser) or change (a superuser) its quota. */
  async function orgFor(req: FastifyRequest, change: boolean): Promise<Account> {
    const org = await requireOrganization(deps.db, (req.params as { orgname: string }).orgname);
    await authorize(deps, req, change
      ? { on: 'superuser' }
      : { on: 'any', needs: [{ on: 'namespace', namespace: org, level: 'member' }, { on: 'superuser' }] });
    return org;
  }
  const ns = (org: Account) => ({ id: org.id, name: org.name });

  app.get(base, documented("An organization's quota with its limits, usage and reclaimable bytes (members)"), async (req) => {
    const org = await orgFor(req, false);
    const quota = await findQuota(deps.db, org.id);
    if (!quota && deps.config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES <= 0) return [];
    return [await quotaView(deps, org, quota)];
  });

  app.post(base, documented("Set an organization's quota (superusers)", ['super:user']), async (req, reply) => {
    const org = await orgFor(req, true);
    const bytes = bytesFrom(parseInput(QuotaBody, req.body));
    await deps.db.transaction(async (tx) => {
      await createQuota(tx, org.id, bytes);
      await audit(tx, req, { kind: 'org_create_quota', namespace: ns(org), metadata: { namespace: org.name, limit_bytes: bytes } });
    });
    return reply.code(201).type('application/json; charset=utf-8').send(JSON.stringify('Created'));
  });

  app.get(`${base}/:quota_id`, documented("An organization's quota (members)"), async (req) => {
    const org = await orgFor(req, false);
    return quotaView(deps, org, await requireQuota(deps.db, org.id, idParam(req, 'quota_id')));
  });

  app.put(`${base}/:quota_id`, documented("Change an organization's quota (superusers)", ['super:user']), async (req) => {
    const org = await orgFor(req, true);
    const bytes = bytesFrom(parseInput(QuotaBody, req.body));
    const quota = await deps.db.transaction(async (tx) => {
      const changed = await changeQuota(tx, await requireQuota(tx, org.id, idParam(req, 'quota_id')), bytes);
      await audit(tx, req, { kind: 'org_change_quota', namespace: ns(org), metadata: { namespace: org.name, limit_bytes: bytes } });
      return changed;
    });
    return quotaView(deps, org, quota);
  });

  app.delete(`${base}/:quota_id`, documented("Remove an organization's quota (superusers)", ['super:user']), async (req, reply) => {
    const org = await orgFor(req, true);
    await deps.db.transaction(async (tx) => {
      await deleteQuota(tx, await requireQuota(tx, org.id, idParam(req, 'quota_id')));
      await audit(tx, req, { kind: 'org_delete_quota', namespace: ns(org), metadata: { namespace: org.name } });
    });
    return reply.code(204).send();
  });

  app.get(`${base}/:quota_id/limit`, documented("A quota's limits (members)"), async (req) => {
    const org = await orgFor(req, false);
    return (await requireQuota(deps.db, org.id, idParam(req, 'quota_id'))).limits.map(limitView);
  });

  app.post(`${base}/:quota_id/limit`, documented('Add a Warning or Reject limit (superusers)', ['super:user']), async (req, reply) => {
    const org = await orgFor(req, true);
    const input = parseInput(NewLimit, req.body);
    await deps.db.transaction(async (tx) => {
      const limit = await addLimit(tx, await requireQuota(tx, org.id, idParam(req, 'quota_id')), input.type, input.threshold_percent);
      await audit(tx, req, { kind: 'org_create_quota_limit', namespace: ns(org), metadata: { namespace: org.name, type: limit.type, threshold_percent: limit.percent } });
    });
    return reply.code(201).type('application/json; charset=utf-8').send(JSON.stringify('Created'));
  });

  app.get(`${base}/:quota_id/limit/:limit_id`, documented('A quota limit (members)'), async (req) => {
    const org = await orgFor(req, false);
    return limitView(requireLimit(await requireQuota(deps.db, org.id, idParam(req, 'quota_id')), idParam(req, 'limit_id')));
  });

  app.put(`${base}/:quota_id/limit/:limit_id`, documented('Change a quota limit (superusers)', ['super:user']), async (req) => {
    const org = await orgFor(req, true);
    const input = parseInput(LimitChange, req.body);
    const limit = await deps.db.transaction(async (tx) => {
      const quota = await requireQuota(tx, org.id, idParam(req, 'quota_id'));
      const changed = await changeLimit(tx, quota, requireLimit(quota, idParam(req, 'limit_id')), { type: input.type, percent: input.threshold_percent });
      await audit(tx, req, { kind: 'org_change_quota_limit', namespace: ns(org), metadata: { namespace: org.name, type: changed.type, threshold_percent: changed.percent } });
      return changed;
    });
    return limitView(limit);
  });

  app.delete(`${base}/:quota_id/limit/:limit_id`, documented('Remove a quota limit (superusers)', ['super:user']), async (req, reply) => {
    const org = await orgFor(req, true);
    await deps.db.transaction(async (tx) => {
      const quota = await requireQuota(tx, org.id, idParam(req, 'quota_id'));
      const limit = requireLimit(quota, idParam(req, 'limit_id'));
      await deleteLimit(tx, limit);
      await audit(tx, req, { kind: 'org_delete_quota_limit', namespace: ns(org), metadata: { namespace: org.name, type: limit.type, threshold_percent: limit.percent } });
    });
    return reply.code(204).send();
  });

  // Quay's read-only view of one's own namespace quota.
  app.get('/user/quota', documented("The caller's own namespace quota", ['user:admin']), async (req) => {
    await authorize(deps, req, { on: 'self', level: 'admin' });
    const self = callerAccount(req);
    const quota = await findQuota(deps.db, self.id);
    if (!quota && deps.config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES <= 0) return [];
    return [await quotaView(deps, self, quota)];
  });

  app.get(`${base}/events`, documented("An organization's quota_warning and quota_error events (members)"), async (req) => {
    const org = await orgFor(req, false);
    return { events: await quotaEvents(deps.db, org.id) };
  });
};
