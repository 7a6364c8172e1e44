/**
 * The runtime's HTTP server: GET /status (pool and host counts as JSON), GET /healthz, and POST /metrics
 * for feeding samples by hand or from a scraper where there is no Kafka. Bodies are size-limited; bad
 * input gets a 4xx naming the field and changes nothing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { WebhooksConfig } from '../config/index.js';
import type { Controller } from '../controller/index.js';
import { isWarmpoolError } from '../domain/index.js';
import { decodePayload } from '../signals/index.js';
import { type AdminOptions, handleAdmin } from './admin.js';
import { parseJson, readBody } from './body.js';
import { HttpError } from './errors.js';
import { handleWebhook, type WebhookKind, type WebhookSecrets } from './webhooks.js';

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** Validates every sample before applying any: one bad sample refuses the whole request. */
async function acceptMetrics(controller: Controller, raw: unknown): Promise<number> {
  const decoded = decodePayload(raw);
  if (!decoded.ok) throw new HttpError(400, 'invalid metric', decoded.problems);
  // One sample per item, so a sample's index is its item's.
  const known = new Set(controller.pools.map((p) => p.name));
  const problems = decoded.value.flatMap((s, i) =>
    known.has(s.pool)
      ? []
      : [
          `${Array.isArray(raw) ? `[${i}].` : ''}pool: unknown pool "${s.pool}" (known: ${[...known].join(', ')})`,
        ],
  );
  // The request was well formed but names nothing here.
  if (problems.length > 0) throw new HttpError(404, 'invalid metric', problems);
  await controller.ingest(decoded.value);
  return decoded.value.length;
}

export interface HttpOptions {
  /** The webhook secrets (from the environment) and rules (from the config). */
  webhooks?: { secrets: WebhookSecrets; config: WebhooksConfig };
  /** The admin API (lib/runtime/admin.ts): off unless it has a token. */
  admin?: AdminOptions;
}

const WEBHOOK_PATH = /^\/webhooks\/(alertmanager|grafana|generic)$/;

async function webhook(
  controller: Controller,
  kind: WebhookKind,
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpOptions,
): Promise<void> {
  const config = options.webhooks?.config ?? { rules: [], maxBodyBytes: 262_144 };
  const body = await readBody(req, config.maxBodyBytes);
  const decisions = await handleWebhook(controller, kind, req.headers, body, {
    secrets: options.webhooks?.secrets ?? {},
    config,
  });
  send(res, 202, { decisions });
}

export function createHttpServer(controller: Controller, options: HttpOptions = {}): Server {
  return createServer((req, res) => {
    void route(controller, req, res, options).catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, { error: err.message, problems: err.problems });
      else if (isWarmpoolError(err, 'unknown_pool')) send(res, 404, { error: err.message });
      else send(res, 500, { error: 'internal error' });
    });
  });
}

async function route(
  controller: Controller,
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // The admin API answers for all of /admin/ (lib/runtime/admin.ts).
  if (url.pathname.startsWith('/admin/')) return handleAdmin(controller, req, res, url, options.admin);
  const key = `${req.method} ${url.pathname}`;
  const hook = WEBHOOK_PATH.exec(url.pathname);
  if (hook) {
    if (req.method !== 'POST')
      throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
    await webhook(controller, hook[1] as WebhookKind, req, res, options);
    return;
  }
  switch (key) {
    case 'GET /status': {
      const pools = await controller.status();
      send(res, 200, { pools });
      return;
    }
    case 'GET /healthz':
      send(res, 200, { ok: true });
      return;
    case 'POST /metrics': {
      const accepted = await acceptMetrics(controller, parseJson(await readBody(req)));
      send(res, 202, { accepted });
      return;
    }
    default:
      if (['/status', '/healthz', '/metrics'].includes(url.pathname)) {
        throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
      }
      throw new HttpError(404, `no route ${url.pathname}`);
  }
}
