/** The batching settings of one served model's passes, shared by the work items and the model's schedule. */

/** How a served model's passes are merged (its config.pbtxt's dynamic_batching, else BATCH_MAX_*). */
export interface Batching {
  /** The most rows a merged pass holds; 1: none merged. */
  readonly maxRows: number;
  /** How long the first request of a pass may wait for others to join it, in ms; 0: never waits. */
  readonly maxDelayMs: number;
  /** Rows a pass goes at without waiting longer (ascending; empty: only at maxRows). */
  readonly preferredRows: readonly number[];
}

/** Passes never merged. */
export const UNBATCHED: Batching = { maxRows: 1, maxDelayMs: 0, preferredRows: [] };
