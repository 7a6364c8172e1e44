/** GET /status on the HTTP API: pool and host counts as JSON. */
import { lambdaController } from '../lib/runtime/index.js';

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export async function handler(): Promise<HttpResult> {
  const controller = await lambdaController();
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pools: await controller.status() }),
  };
}
