import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEFINITIONS, DESTINATION_TYPES, type DestinationType } from '@upload-fleet/destinations/definitions';
import type { DeliveryState } from '@upload-fleet/core';
import type { ConsoleData, DeliveryFilter } from './console-data.js';
import { deliveriesPage, deliveryPage, limitsPage, notFoundPage, poolsPage, type PageContext } from './console-pages.js';

export const ACTION_HEADER = 'x-console-action';

const STATES: DeliveryState[] = ['pending', 'in_progress', 'completed', 'failed', 'partially_failed', 'cancelled'];

/**
 * The delivery console's routes, under `<base>/console`: four pages and the JSON they are
 * made of (`<base>/console/api/...`), behind the dashboard's login (its onRequest hook).
 * Read-only by default; with DASHBOARD_READ_ONLY=false two actions more, the API's own:
 * cancel what has not started, retry what failed. Every answer is redacted by ConsoleData.
 */
export function registerConsoleRoutes(app: FastifyInstance, data: ConsoleData, ctx: PageContext): void {
  const path = ctx.consolePath;
  const types = DEFINITIONS.map((d) => ({ type: d.type, label: d.label }));
  const html = (reply: FastifyReply, body: string, status = 200) => reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const json = (reply: FastifyReply, body: unknown, status = 200) => reply.code(status).header('cache-control', 'no-store').send(body);

  app.get(path, async (request, reply) => {
    const query = request.query as Record<string, string>;
    const filter = filterOf(query);
    if ('error' in filter) return html(reply, filter.error, 400);
    return html(reply, deliveriesPage(ctx, await data.deliveries(filter), filter, query, types));
  });
  app.get(`${path}/deliveries/:token`, async (request, reply) => {
    const { token } = request.params as { token: string };
    const detail = await data.delivery(token);
    return detail ? html(reply, deliveryPage(ctx, detail)) : html(reply, notFoundPage(ctx, token), 404);
  });
  app.get(`${path}/limits`, async (_request, reply) => html(reply, limitsPage(ctx, await data.limits())));
  app.get(`${path}/pools`, async (_request, reply) => html(reply, poolsPage(ctx, await data.pools())));

  app.get(`${path}/api/deliveries`, async (request, reply) => {
    const filter = filterOf(request.query as Record<string, string>);
    if ('error' in filter) return json(reply, { error: filter.error }, 400);
    return json(reply, await data.deliveries(filter));
  });
  app.get(`${path}/api/deliveries/:token`, async (request, reply) => {
    const { token } = request.params as { token: string };
    const detail = await data.delivery(token);
    return detail ? json(reply, detail) : json(reply, { error: `No delivery ${token}: it may have expired, or the token is wrong.` }, 404);
  });
  // Actions are POSTs sent by the page's script with ACTION_HEADER: a form on another site
  // cannot set a custom header, so a browser holding the Basic login cannot be made to act (CSRF).
  for (const action of ['cancel', 'retry'] as const) {
    app.post(`${path}/api/deliveries/:token/${action}`, async (request, reply) => {
      if (ctx.readOnly) return json(reply, { error: 'The console is read-only (DASHBOARD_READ_ONLY is not "false"); cancel or retry with the API.' }, 403);
      if (request.headers[ACTION_HEADER] !== '1') return json(reply, { error: `Console actions are sent by its page, with the ${ACTION_HEADER} header.` }, 403);
      const { token } = request.params as { token: string };
      if (!(await data.delivery(token))) return json(reply, { error: `No delivery ${token}: it may have expired, or the token is wrong.` }, 404);
      return json(reply, action === 'cancel' ? await data.cancel(token) : await data.retry(token));
    });
  }
  app.get(`${path}/api/limits`, async (_request, reply) => json(reply, { accounts: await data.limits() }));
  app.get(`${path}/api/pools`, async (_request, reply) => json(reply, { pools: await data.pools() }));
}

/**
 * Query parameters to a filter: state (repeatable or comma-separated), type, from and to
 * (ISO date-times or the browser's datetime-local, read as UTC), q (search), before (paging).
 */
export function filterOf(query: Record<string, string | string[] | undefined>): DeliveryFilter | { error: string } {
  const filter: DeliveryFilter = {};
  const list = (value: string | string[] | undefined) => (Array.isArray(value) ? value : (value ?? '').split(',')).map((v) => v.trim()).filter(Boolean);
  const states = list(query.state);
  const unknown = states.filter((s) => !STATES.includes(s as DeliveryState));
  if (unknown.length) return { error: `state must be one of ${STATES.join(', ')} (got ${unknown.join(', ')})` };
  if (states.length) filter.states = states as DeliveryState[];
  const type = list(query.type)[0];
  if (type) {
    if (!DESTINATION_TYPES.includes(type as DestinationType)) return { error: `type must be one of ${DESTINATION_TYPES.join(', ')}` };
    filter.type = type as DestinationType;
  }
  for (const [name, field] of [['from', 'fromMs'], ['to', 'toMs']] as const) {
    const raw = list(query[name])[0];
    if (!raw) continue;
    const ms = Date.parse(/Z|[+-]\d\d:\d\d$/.test(raw) ? raw : `${raw}Z`);
    if (Number.isNaN(ms)) return { error: `${name} must be a date and time like 2026-12-03T14:00 (UTC)` };
    filter[field] = ms;
  }
  const before = list(query.before)[0];
  if (before) {
    if (!/^\d+$/.test(before)) return { error: 'before must be a time in milliseconds (the "Older deliveries" link gives it)' };
    filter.beforeMs = Number(before);
  }
  const q = list(query.q)[0];
  if (q) filter.search = q;
  return filter;
}
