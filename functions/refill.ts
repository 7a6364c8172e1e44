/**
 * Scheduled or invoked asynchronously after a promotion: refill the named pool (event `{ "pool": "web" }`)
 * or every pool toward the last decision's targets, and wait until the launches are warm.
 */
import { z } from 'zod';
import { lambdaController } from '../lib/runtime/index.js';
import { formatIssues } from '../lib/util/index.js';

const eventSchema = z.object({ pool: z.string().min(1).optional() }).loose();

export async function handler(event: unknown): Promise<Record<string, { launched: number; warm: number }>> {
  const parsed = eventSchema.safeParse(event ?? {});
  if (!parsed.success)
    throw new Error(`invalid refill event: ${formatIssues(parsed.error.issues).join('; ')}`);
  const controller = await lambdaController();
  const names = parsed.data.pool ? [parsed.data.pool] : controller.pools.map((p) => p.name);
  const out: Record<string, { launched: number; warm: number }> = {};
  for (const name of names) {
    const r = await controller.refillPool(name);
    out[name] = { launched: r.launched.length, warm: r.warm.length };
  }
  return out;
}
