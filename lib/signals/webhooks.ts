/**
 * Webhook payloads from monitoring: Prometheus Alertmanager (webhook version 4), Grafana alerting contact
 * points, and a generic `{"pool","action","count"|"desired"}`. Alerts map to pools by rules in config, or by
 * the labels `warmpool_pool` (and `warmpool_scale_out`) on the alert itself. Decoding only: what a payload
 * asks for, as a list of demands; the controller applies them.
 */
import { z } from 'zod';
import { formatIssues } from '../util/index.js';
import type { Decoded } from './metric.js';

const labels = z.record(z.string(), z.string());

const alertSchema = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels,
    annotations: labels.optional(),
    startsAt: z.string().optional(),
    endsAt: z.string().optional(),
    fingerprint: z.string().min(1).optional(),
  })
  .loose();

/** Alertmanager's webhook payload, version 4. */
export const alertmanagerSchema = z
  .object({
    version: z.literal('4'),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string(),
    groupKey: z.string(),
    alerts: z.array(alertSchema).min(1),
  })
  .loose();

/** Grafana alerting's webhook contact point payload (unified alerting). */
export const grafanaSchema = z
  .object({
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().optional(),
    orgId: z.number().optional(),
    alerts: z.array(alertSchema).min(1),
  })
  .loose();

export const genericSchema = z.discriminatedUnion('action', [
  z.strictObject({
    pool: z.string().min(1),
    action: z.literal('scale_out'),
    count: z.int().min(1).max(10_000),
  }),
  z.strictObject({
    pool: z.string().min(1),
    action: z.literal('scale_in'),
    count: z.int().min(1).max(10_000),
  }),
  z.strictObject({ pool: z.string().min(1), action: z.literal('set'), desired: z.int().min(0).max(100_000) }),
]);

/** How an alert maps to a pool: every `match` label equal; then scale out by `scaleOut` or hold `desired`. */
export interface AlertRule {
  match: Readonly<Record<string, string>>;
  pool: string;
  scaleOut?: number;
  desired?: number;
}

/** What one payload asks of one pool. `key` names the source, so a repeat or a resolve finds its hold. */
export type Demand =
  | { pool: string; key: string; kind: 'hold_by'; by: number }
  | { pool: string; key: string; kind: 'hold_desired'; desired: number }
  | { pool: string; key: string; kind: 'lower'; by: number }
  | { pool: string; key: string; kind: 'release' };

type Alert = z.output<typeof alertSchema>;

function alertKey(source: string, alert: Alert): string {
  // Without a fingerprint (older senders), the sorted labels identify the alert.
  const id =
    alert.fingerprint ??
    Object.entries(alert.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  return `${source}:${id}`;
}

/** The demand of one alert, by the first matching rule, else by its own warmpool_* labels; none if neither. */
function alertDemand(source: string, alert: Alert, rules: readonly AlertRule[]): Demand | undefined {
  const rule = rules.find((r) => Object.entries(r.match).every(([k, v]) => alert.labels[k] === v));
  const pool = rule?.pool ?? alert.labels.warmpool_pool;
  if (!pool) return undefined;
  const key = alertKey(source, alert);
  if (alert.status === 'resolved') return { pool, key, kind: 'release' };
  if (rule?.desired !== undefined) return { pool, key, kind: 'hold_desired', desired: rule.desired };
  const labelled = Number(alert.labels.warmpool_scale_out);
  const by = rule?.scaleOut ?? (Number.isInteger(labelled) && labelled > 0 ? labelled : 1);
  return { pool, key, kind: 'hold_by', by };
}

function decodeAlerts(
  source: 'alertmanager' | 'grafana',
  schema: typeof alertmanagerSchema | typeof grafanaSchema,
  raw: unknown,
  rules: readonly AlertRule[],
): Decoded<Demand[]> {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const demands = parsed.data.alerts.flatMap((a) => {
    const d = alertDemand(source, a, rules);
    return d ? [d] : [];
  });
  if (demands.length === 0) {
    return {
      ok: false,
      problems: ['alerts: no alert maps to a pool (no rule matches, and no alert has a warmpool_pool label)'],
    };
  }
  return { ok: true, value: demands };
}

/** @example decodeAlertmanager(body, config.webhooks.rules) */
export const decodeAlertmanager = (raw: unknown, rules: readonly AlertRule[]) =>
  decodeAlerts('alertmanager', alertmanagerSchema, raw, rules);

/** @example decodeGrafana(body, config.webhooks.rules) */
export const decodeGrafana = (raw: unknown, rules: readonly AlertRule[]) =>
  decodeAlerts('grafana', grafanaSchema, raw, rules);

/** @example decodeGeneric({ pool: 'web', action: 'scale_out', count: 5 }) */
export function decodeGeneric(raw: unknown): Decoded<Demand[]> {
  const parsed = genericSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: formatIssues(parsed.error.issues) };
  const g = parsed.data;
  const key = 'generic';
  switch (g.action) {
    case 'scale_out':
      return { ok: true, value: [{ pool: g.pool, key, kind: 'hold_by', by: g.count }] };
    case 'scale_in':
      return { ok: true, value: [{ pool: g.pool, key, kind: 'lower', by: g.count }] };
    case 'set':
      return { ok: true, value: [{ pool: g.pool, key, kind: 'hold_desired', desired: g.desired }] };
  }
}
