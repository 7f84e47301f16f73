/**
 * What the core reports as it works, for the metrics (src/http/plugins/metrics.ts implements it; the core does
 * not know Prometheus). Model labels come only from the repository, so their number stays bounded.
 */
import type { Protocol } from '../protocols/encoding.js';

export interface ServedName {
  readonly name: string;
  readonly version: string;
}

/** Why a request was refused without computing. */
export const REFUSALS = ['queue-full', 'deadline', 'queue-timeout'] as const;
export type Refusal = (typeof REFUSALS)[number];

export interface CoreObserver {
  /** One pass, inline or on a worker: its shape ([batch, time, ...], merged requests counted together), its time. */
  pass(shape: readonly number[], seconds: number): void;
  /**
   * One request of a served model answered (`ok`) or refused (the problem's kind), with its pass's time and the
   * protocol it came by.
   */
  inference(model: ServedName, outcome: string, seconds: number, protocol: Protocol): void;
  /** Requests and sequences (batch rows) merged into one pass. */
  batch(requests: number, rows: number): void;
  /** Seconds a request waited in the queue for its turn. */
  waited(seconds: number): void;
  refused(reason: Refusal): void;
  /** Requests planned (and the small ones computed and answered) together at the end of one event-loop turn. */
  turn(answers: number): void;
}

export const SILENT: CoreObserver = {
  pass: () => {},
  inference: () => {},
  batch: () => {},
  waited: () => {},
  refused: () => {},
  turn: () => {},
};
