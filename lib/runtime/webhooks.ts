/**
 * POST /webhooks/alertmanager, /webhooks/grafana and /webhooks/generic: authenticated (a bearer token, or an
 * HMAC-SHA256 signature over the timestamp and the raw body, refused outside five minutes and on replay),
 * size-limited, decoded, and applied as demand holds on the pools. Every comparison of a secret is
 * timing-safe; no secret reaches a log line or an answer. Anything bad gets a 4xx and changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WebhooksConfig } from '../config/index.js';
import type { Controller } from '../controller/index.js';
import { type Demand, decodeAlertmanager, decodeGeneric, decodeGrafana } from '../signals/index.js';
import { parseJson } from './body.js';
import { HttpError } from './errors.js';

export type WebhookKind = 'alertmanager' | 'grafana' | 'generic';

export interface WebhookSecrets {
  /** Accepted as `Authorization: Bearer <token>`. */
  token?: string;
  /** Key of the HMAC-SHA256 in `X-Warmpool-Signature: t=<unix seconds>,v1=<hex>`. */
  secret?: string;
}

/** A signature is good this long either side of the controller's clock. */
export const SIGNATURE_WINDOW_S = 300;

/**
 * The webhook secrets from the environment: WARMPOOL_WEBHOOK_TOKEN and WARMPOOL_WEBHOOK_SECRET, or the same
 * names with _FILE naming a file that holds the value (a mounted secret). Never from the config file.
 */
export function webhookSecrets(env: NodeJS.ProcessEnv): WebhookSecrets {
  const read = (name: string): string | undefined => {
    const direct = env[name];
    if (direct) return direct;
    const file = env[`${name}_FILE`];
    if (!file) return undefined;
    const value = readFileSync(file, 'utf8').trim();
    if (!value) throw new Error(`${name}_FILE names an empty file`);
    return value;
  };
  const token = read('WARMPOOL_WEBHOOK_TOKEN');
  const secret = read('WARMPOOL_WEBHOOK_SECRET');
  return { ...(token ? { token } : {}), ...(secret ? { secret } : {}) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Equal lengths for timingSafeEqual; a length mismatch still costs one comparison.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** Checks the request's credentials; throws the HttpError to answer otherwise. */
export async function authenticate(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
  secrets: WebhookSecrets,
  controller: Controller,
): Promise<void> {
  if (!secrets.token && !secrets.secret) {
    throw new HttpError(403, 'webhooks disabled: set WARMPOOL_WEBHOOK_TOKEN or WARMPOOL_WEBHOOK_SECRET');
  }
  const auth = headers.authorization;
  // The scheme name is case-insensitive (RFC 7235); the token is not.
  if (secrets.token && typeof auth === 'string' && /^bearer /i.test(auth)) {
    if (safeEqual(auth.slice(7), secrets.token)) return;
    throw new HttpError(401, 'bearer token refused');
  }
  const header = headers['x-warmpool-signature'];
  if (secrets.secret && typeof header === 'string') {
    const parts = new Map(
      header.split(',').map((p) => {
        const i = p.indexOf('=');
        return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
      }),
    );
    const t = parts.get('t') ?? '';
    const v1 = parts.get('v1') ?? '';
    if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/i.test(v1)) {
      throw new HttpError(401, 'X-Warmpool-Signature must be t=<unix seconds>,v1=<hex of HMAC-SHA256>');
    }
    const skew = Math.abs(controller.now() / 1000 - Number(t));
    if (skew > SIGNATURE_WINDOW_S) {
      throw new HttpError(401, `signature timestamp outside the ${SIGNATURE_WINDOW_S} s window`);
    }
    const expected = createHmac('sha256', secrets.secret).update(`${t}.`).update(body).digest('hex');
    if (!safeEqual(v1.toLowerCase(), expected)) throw new HttpError(401, 'signature does not match the body');
    // Each signature once: a captured request cannot be played again within the window.
    if (!(await controller.firstTime('webhook', v1.toLowerCase(), 2 * SIGNATURE_WINDOW_S * 1000))) {
      throw new HttpError(409, 'signature already used (replay)');
    }
    return;
  }
  throw new HttpError(
    401,
    secrets.secret ? 'missing X-Warmpool-Signature or bearer token' : 'missing bearer token',
  );
}

export function decodeWebhook(kind: WebhookKind, raw: unknown, config: WebhooksConfig) {
  switch (kind) {
    case 'alertmanager':
      return decodeAlertmanager(raw, config.rules);
    case 'grafana':
      return decodeGrafana(raw, config.rules);
    case 'generic':
      return decodeGeneric(raw);
  }
}

export interface Decision {
  pool: string;
  key: string;
  action: Demand['kind'];
  /** The pool's desired count after the decision. */
  desired: number;
}

/**
 * Applies the demands in order. A firing alert that already holds its pool changes nothing (Alertmanager
 * repeats a firing alert every repeat_interval): an alert scales out once, until it resolves.
 */
export async function applyDemands(controller: Controller, demands: readonly Demand[]): Promise<Decision[]> {
  const known = new Set(controller.pools.map((p) => p.name));
  const unknown = [...new Set(demands.filter((d) => !known.has(d.pool)).map((d) => d.pool))];
  if (unknown.length > 0) {
    throw new HttpError(
      404,
      'unknown pool',
      unknown.map((p) => `pool: unknown pool "${p}" (known: ${[...known].join(', ')})`),
    );
  }
  const out: Decision[] = [];
  for (const d of demands) {
    switch (d.kind) {
      case 'hold_by':
        // A firing alert holds its pool once until it resolves; a generic scale-out adds each time.
        await controller.holdDemand(d.pool, d.key, { by: d.by }, { ifAbsent: d.key !== 'generic' });
        break;
      case 'hold_desired':
        await controller.holdDemand(d.pool, d.key, { desired: d.desired });
        break;
      case 'lower':
        await controller.lowerHold(d.pool, d.key, d.by);
        break;
      case 'release':
        await controller.releaseHold(d.pool, d.key);
        break;
    }
    out.push({
      pool: d.pool,
      key: d.key,
      action: d.kind,
      desired: (await controller.policy(d.pool)).desired,
    });
  }
  return out;
}

/**
 * One webhook request, whatever carries it (the runtime's HTTP server, API Gateway on Lambda): authenticate,
 * decode, apply. Header names in lower case.
 */
export async function handleWebhook(
  controller: Controller,
  kind: WebhookKind,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
  options: { secrets: WebhookSecrets; config: WebhooksConfig },
): Promise<Decision[]> {
  if (body.length > options.config.maxBodyBytes) {
    throw new HttpError(413, `body larger than ${options.config.maxBodyBytes} bytes`);
  }
  await authenticate(headers, body, options.secrets, controller);
  const decoded = decodeWebhook(kind, parseJson(body), options.config);
  if (!decoded.ok) throw new HttpError(400, `invalid ${kind} payload`, decoded.problems);
  return applyDemands(controller, decoded.value);
}
