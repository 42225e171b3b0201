// A worker thread of the runner: processes the files it is sent with the
// transforms named in its plan (custom ones loaded from their modules), and
// posts back one result per file.
import { parentPort, workerData } from 'node:worker_threads';
import { TRANSFORMS } from '../../transforms/index.js';
import { loadTransform } from './custom-transforms.js';
import type { EngineOptions } from '../engine/fixpoint.js';
import type { WorkerPlan } from './options.js';
import { processAndWrite } from './runner.js';

const plan = workerData as WorkerPlan;

async function engineFor(plan: WorkerPlan): Promise<EngineOptions> {
  const custom = await Promise.all(plan.transformModules.map((url) => loadTransform(new URL(url))));
  const available = [...TRANSFORMS, ...custom];
  return {
    transforms: plan.transformIds.map((id) => available.find((transform) => transform.meta.id === id)!),
    unsafeAllowed: plan.unsafeAllowed === 'all' ? 'all' : new Set(plan.unsafeAllowed),
    knownIds: plan.knownIds,
    options: plan.options,
    timeoutMs: plan.timeoutMs,
  };
}

const engine = engineFor(plan);

// Messages are handled strictly in order: the end-of-work message (null) must
// not close the port while an earlier file is still being processed.
let queue: Promise<unknown> = engine;
parentPort!.on('message', (message: { index: number; file: string } | null) => {
  queue = queue.then(async () => {
    if (message === null) {
      parentPort!.close();
      return;
    }
    const result = await processAndWrite(message.file, await engine, { write: plan.write, maxFileBytes: plan.maxFileBytes }, message.index);
    parentPort!.postMessage(result);
  });
});
