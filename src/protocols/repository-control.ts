/**
 * The parameters of Triton's model repository extension (load and unload), read alike over HTTP (the JSON body's
 * `parameters`) and gRPC (the requests' `parameters` map, each value the field its client set): load takes `config`
 * (a ModelConfig as JSON text, replacing the model's config.pbtxt), unload takes `unload_dependents`. File overrides
 * (`file:<path>`) are refused: models come from MODELS_DIR.
 */
import { invalidAt, quoted } from '../errors/problem-error.js';

/** A parameter's value as its protocol carried it (gRPC's bytes_param as bytes). */
export type RepositoryParameterValue = string | number | boolean | Uint8Array;

const kindOf = (value: RepositoryParameterValue): string => (value instanceof Uint8Array ? 'bytes' : typeof value);

/** A load request's `config` parameter (ModelConfig as JSON), or null; `file:` overrides and other names are refused. */
export function loadConfigParameter(parameters: Record<string, RepositoryParameterValue> | undefined): string | null {
  let config: string | null = null;
  for (const [name, value] of Object.entries(parameters ?? {})) {
    const path = `parameters[${quoted(name)}]`;
    if (name === 'config') {
      if (typeof value !== 'string')
        invalidAt(path, `is ${kindOf(value)}; expected the model configuration as a JSON string`);
      config = value;
    } else if (name.startsWith('file:'))
      invalidAt(
        path,
        'file overrides are not supported: put the model files in MODELS_DIR and load the model by name (a `config` parameter may replace its config.pbtxt)',
      );
    else invalidAt(path, 'is not a parameter of load (config)');
  }
  return config;
}

/** An unload request's parameters: `unload_dependents`, true or false (there are no ensembles to unload with it). */
export function checkUnloadParameters(parameters: Record<string, RepositoryParameterValue> | undefined): void {
  for (const [name, value] of Object.entries(parameters ?? {})) {
    const path = `parameters[${quoted(name)}]`;
    if (name !== 'unload_dependents') invalidAt(path, 'is not a parameter of unload (unload_dependents)');
    if (typeof value !== 'boolean') invalidAt(path, `is ${kindOf(value)}; expected true or false`);
  }
}
