/**
 * Loads model versions after start-up off the event loop: one worker thread (piscina, started when first needed and
 * stopped when idle) reads, parses and checks a version's files, and the loaded model comes back with its buffers
 * moved (src/models/model-transfer.ts), to be swapped in at once. Parsing a large model.json or decoding a large
 * model.onnx takes hundreds of milliseconds; on the event loop, every request would wait that long.
 */
import { Piscina } from 'piscina';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { ModelLoadError, type ServedModel } from '../models/model-file.js';
import type { VersionLoadRequest, VersionLoader } from '../models/model-lifecycle.js';
import { type TransferredModel, fromTransfer } from '../models/model-transfer.js';
import type { LoadRefusal } from './model-load-worker.js';

/** The loading thread stops after this long without a load (a repository changes seldom). */
const IDLE_MS = 30_000;

export function workerModelLoader(cache: SeededWeightsCache, nice: number): VersionLoader {
  let pool: Piscina | null = null;
  return {
    async load(request: VersionLoadRequest): Promise<ServedModel> {
      pool ??= new Piscina({
        // From source (tsx, tap) the worker is the .ts file, loaded by the same loader (workers inherit execArgv).
        filename: new URL(`./model-load-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
          .href,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: IDLE_MS,
        workerData: { nice },
      });
      let result: { model: TransferredModel } | LoadRefusal;
      try {
        result = await pool.run(request);
      } catch (error) {
        throw new ModelLoadError(
          request.file,
          `cannot be loaded (the loading thread failed: ${(error as Error).message})`,
        );
      }
      if ('refused' in result) {
        const { file, problem, shown, line } = result.refused;
        throw new ModelLoadError(file, problem, shown, line);
      }
      return fromTransfer(result.model, request.config, request.limits, cache);
    },
    async close() {
      await pool?.close();
      pool = null;
    },
  };
}
