/**
 * The worker side of loading a model after start-up (model-loader.ts): reads, parses and checks one version's
 * files in full, exactly as start-up does (loadModelFile), then hands the model back with its arrays' buffers
 * moved, not copied. A refusal comes back as data (a ModelLoadError does not survive the crossing).
 */
import { Piscina } from 'piscina';
import { SeededWeightsCache } from '../inference/weights-cache.js';
import { ModelLoadError } from '../models/model-file.js';
import type { VersionLoadRequest } from '../models/model-lifecycle.js';
import { toTransfer } from '../models/model-transfer.js';
import { inThreadLoader } from '../models/repository.js';
import { lowerThreadPriority } from './thread-priority.js';

/** A model's load refused, as the event loop rebuilds the ModelLoadError. */
export interface LoadRefusal {
  readonly refused: { readonly file: string; readonly problem: string; readonly shown: string; readonly line: number };
}

// Seeded weights are not built while loading (a seeded model builds them on first use, on the event loop's side).
const loader = inThreadLoader(new SeededWeightsCache(0));

lowerThreadPriority((Piscina.workerData as { nice?: number } | undefined)?.nice ?? 0);

export default async function loadVersion(request: VersionLoadRequest): Promise<unknown> {
  try {
    const { model, buffers } = toTransfer(await loader.load(request));
    const movable = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: { model } };
    return Piscina.move(movable as unknown as Parameters<typeof Piscina.move>[0]);
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    const { file, problem, shown, line } = error;
    const refusal: LoadRefusal = { refused: { file, problem, shown, line } };
    return refusal;
  }
}
