/** Scheduled: compare every pool's store with its cloud and mend the difference. */
import { lambdaController } from '../lib/runtime/index.js';

export async function handler(): Promise<{ pools: string[] }> {
  const controller = await lambdaController();
  await controller.reconcileAll();
  await controller.idle();
  return { pools: controller.pools.map((p) => p.name) };
}
