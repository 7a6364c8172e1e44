/** A simulator worker thread: runs the policies the main thread hands it (see workers.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { type PlainSimulateOptions, prepare, runPolicy } from './simulate.js';
import type { FromWorker, ToWorker } from './workers.js';

const port = parentPort;
if (!port) throw new Error('lib/sim/worker.ts runs as a worker thread only');
const prepared = prepare(workerData as PlainSimulateOptions);
const send = (msg: FromWorker) => port.postMessage(msg);

port.on('message', ({ choice }: ToWorker) => {
  runPolicy(prepared, choice, (label, done) => send({ type: 'progress', label, done })).then(
    (report) => send({ type: 'done', report }),
    (err: unknown) =>
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
