import { listTagNames } from '../metadata/tags.js';
import type { RouteContext } from './context.js';
import { fetchLimit, finishPage, pageRequest } from './pagination.js';

export async function listTags(ctx: RouteContext): Promise<unknown> {
  const repo = await ctx.repo();
  const page = pageRequest(ctx.req.query);
  const rows = await listTagNames(ctx.deps.db, repo.id, { last: page.last, limit: fetchLimit(page) }, Date.now());
  return { name: ctx.name, tags: finishPage(ctx.reply, `/v2/${ctx.name}/tags/list`, page, rows) };
}
