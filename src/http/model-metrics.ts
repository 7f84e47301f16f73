/**
 * The model lifecycle in Prometheus terms, read from the repository at scrape time: loads by model, version and
 * outcome (`ok`, `failed`: its files or configuration, `no_memory`: the memory budget), versions freed after leaving
 * service, and the state of every version the repository knows (1 for its current state).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ModelRepository } from '../models/repository.js';

export function modelLifecycleMetrics(registry: Registry, repository: ModelRepository): void {
  new Counter({
    name: 'rnn_model_loads_total',
    help: 'Model version loads (start-up, polls, load requests) by model, version and outcome (ok, failed, no_memory); a failure repeated unchanged counts once',
    labelNames: ['model', 'version', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { model, version, outcome, count } of repository.counts.loads)
        this.inc({ model, version, outcome: outcome ?? 'ok' }, count);
    },
  });
  new Counter({
    name: 'rnn_model_unloads_total',
    help: 'Model versions freed after leaving service (replaced, removed or unloaded) once their last request ended',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      // Every version the repository knows has its series from the start (0 until it is first freed).
      for (const { name, version } of repository.states())
        if (version !== undefined) this.inc({ model: name, version }, 0);
      for (const { model, version, count } of repository.counts.unloads) this.inc({ model, version }, count);
    },
  });
  new Gauge({
    name: 'rnn_model_state',
    help: 'The state of each model version the repository knows (READY, LOADING, UNLOADING, UNAVAILABLE): 1 for its current state',
    labelNames: ['model', 'version', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { name, version, state } of repository.states())
        this.set({ model: name, version: version ?? '', state }, 1);
    },
  });
}
