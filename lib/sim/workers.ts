/**
 * Policies on worker threads: each policy's run is independent and single-threaded, so a machine with N
 * cores runs N at once. Each worker derives the same setup from the same options (prepare) and runs the
 * policies it is handed, reporting progress as it goes.
 */
import { Worker } from 'node:worker_threads';
import type { PolicyChoice } from './policies.js';
import type { PlainSimulateOptions, PolicyReport, SimulateOptions } from './simulate.js';

export type ToWorker = { choice: PolicyChoice };
export type FromWorker =
  | { type: 'progress'; label: string; done: number }
  | { type: 'done'; report: PolicyReport }
  | { type: 'error'; message: string };

/** The worker's entry: plain JavaScript that registers the TypeScript loader, then loads worker.ts. */
const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

export async function runInWorkers(options: SimulateOptions, threads: number): Promise<PolicyReport[]> {
  const plain: PlainSimulateOptions = {
    trace: options.trace,
    ...(options.scale ? { scale: options.scale } : {}),
    ...(options.config ? { config: options.config } : {}),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.targetPct !== undefined ? { targetPct: options.targetPct } : {}),
    ...(options.warmupMs !== undefined ? { warmupMs: options.warmupMs } : {}),
    ...(options.series ? { series: true } : {}),
  };
  const queue = options.policies.map((choice, i) => ({ choice, i }));
  const reports: PolicyReport[] = new Array(queue.length);
  await Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(ENTRY, { workerData: plain });
      try {
        for (let job = queue.shift(); job; job = queue.shift()) {
          reports[job.i] = await ask(worker, job.choice, options.onProgress);
        }
      } finally {
        await worker.terminate();
      }
    }),
  );
  return reports;
}

function ask(
  worker: Worker,
  choice: PolicyChoice,
  onProgress?: (label: string, done: number) => void,
): Promise<PolicyReport> {
  return new Promise<PolicyReport>((resolve, reject) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'progress') {
        onProgress?.(msg.label, msg.done);
        return;
      }
      cleanup();
      if (msg.type === 'done') resolve(msg.report);
      else reject(new Error(`simulating ${choice.label}: ${msg.message}`));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`simulating ${choice.label}: the worker exited (code ${code})`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ choice } satisfies ToWorker);
  });
}
