// A worker thread of the runner: processes the files it is sent with the
// transforms named in its plan, and posts back one report per file.
import { parentPort, workerData } from 'node:worker_threads';
import { TRANSFORMS } from '../transforms/index.js';
import type { EngineOptions } from './engine.js';
import { processAndWrite, type WorkerPlan } from './runner.js';

const plan = workerData as WorkerPlan;
const engine: EngineOptions = {
  transforms: TRANSFORMS.filter((transform) => plan.transformIds.includes(transform.meta.id)),
  unsafeAllowed: plan.unsafeAllowed === 'all' ? 'all' : new Set(plan.unsafeAllowed),
  options: plan.options,
};

// Messages are handled strictly in order: the end-of-work message (null) must
// not close the port while an earlier file is still being processed.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (message: { index: number; file: string } | null) => {
  queue = queue.then(async () => {
    if (message === null) {
      parentPort!.close();
      return;
    }
    const report = await processAndWrite(message.file, engine, plan.write);
    parentPort!.postMessage({ index: message.index, report });
  });
});
