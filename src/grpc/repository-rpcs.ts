/**
 * Triton's model repository extension over gRPC: RepositoryIndex, RepositoryModelLoad and RepositoryModelUnload
 * answer what POST /v2/repository/index, /v2/repository/models/{name}/load and /unload answer over HTTP, through the
 * same repository (models/repository.ts) and the same parameter checks (protocols/repository-control.ts). Load and
 * unload need MODEL_CONTROL_MODE=explicit (else UNAVAILABLE, in Triton's words); an unknown model is NOT_FOUND, a bad
 * parameter or a version that failed to load INVALID_ARGUMENT. This server has one repository: a request naming one
 * (`repository_name`) is refused.
 */
import { invalidAt, quoted } from '../errors/problem-error.js';
import type { ModelRepository } from '../models/repository.js';
import {
  type RepositoryParameterValue,
  checkUnloadParameters,
  loadConfigParameter,
} from '../protocols/repository-control.js';
import type {
  ModelRepositoryParameter,
  RepositoryIndexRequest,
  RepositoryIndexResponse,
  RepositoryModelRequest,
} from './messages.js';

/** The parameters as the HTTP route reads them from JSON: each the value of the field its client set. */
function parametersOf(parameters: Record<string, ModelRepositoryParameter>): Record<string, RepositoryParameterValue> {
  const out: Record<string, RepositoryParameterValue> = {};
  for (const [name, parameter] of Object.entries(parameters)) {
    const choice = parameter.parameter_choice;
    if (choice === undefined) continue;
    const value = parameter[choice] as RepositoryParameterValue;
    out[name] = choice === 'int64_param' ? Number(value) : value;
  }
  return out;
}

function oneRepository(repositoryName: string): void {
  if (repositoryName !== '')
    invalidAt(
      'repository_name',
      `is ${quoted(repositoryName)}; this server has one repository (MODELS_DIR): leave repository_name empty`,
    );
}

export function repositoryRpcs(repository: ModelRepository) {
  return {
    async index(request: RepositoryIndexRequest): Promise<RepositoryIndexResponse> {
      oneRepository(request.repository_name);
      const entries = await repository.index(request.ready);
      return {
        models: entries.map(({ name, version, state, reason }) => ({
          name,
          version: version ?? '',
          state,
          reason,
        })),
      };
    },
    async load(request: RepositoryModelRequest): Promise<Record<string, never>> {
      oneRepository(request.repository_name);
      await repository.load(request.model_name, loadConfigParameter(parametersOf(request.parameters)));
      return {};
    },
    async unload(request: RepositoryModelRequest): Promise<Record<string, never>> {
      oneRepository(request.repository_name);
      checkUnloadParameters(parametersOf(request.parameters));
      await repository.unload(request.model_name);
      return {};
    },
  };
}
