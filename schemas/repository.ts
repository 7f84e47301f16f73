/**
 * Triton's model repository extension over REST ($repository_index_request, $repository_index_response,
 * $repository_load_request, $repository_unload_request), field names as Triton writes them.
 */
import { z } from 'zod';

export const MODEL_STATES = ['READY', 'LOADING', 'UNLOADING', 'UNAVAILABLE'] as const;
export const ModelState = z
  .enum(MODEL_STATES)
  .describe(
    'READY: serving; LOADING: being read (a request gets 503 + Retry-After); UNLOADING: finishing its requests, taking no new ones; UNAVAILABLE: not served (`reason` says why)',
  );

export const RepositoryIndexRequest = z
  .strictObject({
    ready: z.boolean().optional().describe('true: only the versions READY to serve (default false: every one)'),
  })
  .meta({ id: 'RepositoryIndexRequest', description: 'Triton $repository_index_request (the body may be empty)' });
export type RepositoryIndexRequest = z.infer<typeof RepositoryIndexRequest>;

export const RepositoryIndexEntry = z
  .object({
    name: z.string(),
    version: z
      .string()
      .optional()
      .describe('Absent for a model whose directory or config.pbtxt failed, or (explicit mode) one not loaded'),
    state: ModelState,
    reason: z.string().describe("Why it is not READY ('' when it is)"),
  })
  .meta({ id: 'RepositoryIndexEntry', description: 'One model version of the repository index' });

export const RepositoryIndex = z
  .array(RepositoryIndexEntry)
  .meta({ id: 'RepositoryIndex', description: 'Triton $repository_index_response: every model and version, by name' });

const ControlParameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const RepositoryLoadRequest = z
  .strictObject({
    parameters: ControlParameters.optional().describe(
      '`config`: the model configuration as JSON (a ModelConfig, as config.pbtxt holds it), used instead of config.pbtxt. ' +
        'File overrides (`file:...`) are refused: put the files in MODELS_DIR',
    ),
  })
  .meta({ id: 'RepositoryLoadRequest', description: 'Triton $repository_load_request (the body may be empty)' });
export type RepositoryLoadRequest = z.infer<typeof RepositoryLoadRequest>;

export const RepositoryUnloadRequest = z
  .strictObject({
    parameters: ControlParameters.optional().describe(
      '`unload_dependents` (boolean): accepted; rnn-serve has no ensembles, so a model has no dependents',
    ),
  })
  .meta({ id: 'RepositoryUnloadRequest', description: 'Triton $repository_unload_request (the body may be empty)' });
export type RepositoryUnloadRequest = z.infer<typeof RepositoryUnloadRequest>;

export const RepositoryControlResponse = z.strictObject({}).meta({
  id: 'RepositoryControlResponse',
  description: 'Done: an empty object, as the gRPC twin answers an empty RepositoryModelLoadResponse / UnloadResponse',
});
