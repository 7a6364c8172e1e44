/**
 * POST /webhooks/{alertmanager,grafana,generic} on the HTTP API (payload format 2.0): the same
 * authentication, decoding and decisions as the runtime's HTTP server.
 */
import {
  HttpError,
  handleWebhook,
  lambdaConfig,
  lambdaController,
  type WebhookKind,
  webhookSecrets,
} from '../lib/runtime/index.js';

interface HttpApiEvent {
  rawPath?: string;
  pathParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

const KINDS: readonly WebhookKind[] = ['alertmanager', 'grafana', 'generic'];

const answer = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export async function handler(event: HttpApiEvent) {
  const kind = event.pathParameters?.kind ?? event.rawPath?.split('/').pop();
  if (!KINDS.includes(kind as WebhookKind)) return answer(404, { error: `no webhook "${kind}"` });
  const controller = await lambdaController();
  const { config } = await lambdaConfig();
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  // API Gateway hands header names in lower case, as the runtime's server does.
  const headers = Object.fromEntries(
    Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  try {
    const decisions = await handleWebhook(controller, kind as WebhookKind, headers, body, {
      secrets: webhookSecrets(process.env),
      config: config.webhooks,
    });
    return answer(202, { decisions });
  } catch (err) {
    if (err instanceof HttpError) return answer(err.status, { error: err.message, problems: err.problems });
    throw err;
  }
}
