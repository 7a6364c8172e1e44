/** Scheduled: one decision round over every pool (promote, demote, refill toward the targets). */
import { lambdaController } from '../lib/runtime/index.js';

export async function handler(): Promise<{ pools: string[] }> {
  const controller = await lambdaController();
  await controller.tick();
  await controller.idle();
  return { pools: controller.pools.map((p) => p.name) };
}
