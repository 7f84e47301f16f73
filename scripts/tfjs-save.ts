/**
 * Saves a tfjs model as tfjs writes it to disk (model.json in the TF.js Layers format and one weight shard),
 * for the fixture makers. `tf` is passed in so that the caller's tfjs (and its backend) does the saving.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type * as tfjs from '@tensorflow/tfjs';

export async function saveModel(tf: typeof tfjs, model: tfjs.LayersModel, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const { modelTopology, weightSpecs, weightData } = artifacts;
      const shard = 'group1-shard1of1.bin';
      const buffers = Array.isArray(weightData) ? weightData : [weightData as ArrayBuffer];
      await writeFile(`${target}${shard}`, Buffer.concat(buffers.map((b) => Buffer.from(b))));
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology,
        weightsManifest: [{ paths: [shard], weights: weightSpecs }],
      };
      await writeFile(`${target}model.json`, `${JSON.stringify(modelJson, null, 1)}\n`);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}
