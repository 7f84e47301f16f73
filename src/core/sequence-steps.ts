/**
 * Stateful sequences (Triton's sequence batcher, its implicit state): a client streams one sequence request by
 * request, each naming the sequence (`sequence_id`) and flagging its first chunk (`sequence_start`) and its last
 * (`sequence_end`); the core carries the model's recurrent state (every layer's and direction's h, and an LSTM's c)
 * from one chunk to the next through the sequence store (sequences/: this process, or Redis shared by every
 * replica). A chunk's answer is what the whole sequence answers at those steps, bit for bit: the chunk runs from the
 * exact float32 state the previous one left.
 *
 * One chunk:
 *   1. its sequence is locked in this process (chunks of one sequence run one after the other, in arrival order;
 *      across replicas the store's compare-and-set of the step refuses a race: 409);
 *   2. a start is planned first (a bad chunk starts nothing), then begins the sequence (restarting one in progress,
 *      logged); any other chunk loads the state: none is the 400 Triton words ("must specify the START flag"), state
 *      of another model version or weights is a 400 too (never continued from foreign state);
 *   3. the pass runs as any request's (it may merge with other sequences' chunks: the scheduler);
 *   4. its final state is saved at the next step (or, for the last chunk, the sequence ends) before the answer is
 *      sent, so that the next chunk, wherever it arrives, continues from it.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { invalidAt, quoted } from '../errors/problem-error.js';
import type { SequenceControl } from '../inference/request.js';
import type { ResolvedModel } from '../inference/model.js';
import { weightsDigest } from '../inference/weights-export.js';
import type { SequenceMetrics } from './sequences/sequence-metrics.js';
import {
  type SequenceEntry,
  type SequenceKey,
  type SequenceOwner,
  type SequenceStore,
  describeSequence,
  sameOwner,
  sequenceIdProblem,
} from './sequences/sequence-store.js';

/** A served model a sequence runs on: its name, version, and the digest of what it computes with. */
export interface SequenceModel {
  readonly name: string;
  readonly version: string;
  /** sha256 of its weights (a layer model) or of its file (an ONNX graph); called once per chunk, kept per model. */
  digest(): string;
}

const weightDigests = new WeakMap<ResolvedModel, string>();

/** A layer model's weights digest (the one POST /rnn/weights answers), made once per model. */
export function weightsDigestOf(model: ResolvedModel): string {
  let digest = weightDigests.get(model);
  if (digest === undefined) {
    digest = weightsDigest(model);
    weightDigests.set(model, digest);
  }
  return digest;
}

const fileDigests = new WeakMap<Uint8Array, string>();

/** An ONNX graph's digest: sha256 of its model.onnx bytes, made once per file. */
export function sourceDigest(bytes: Uint8Array): string {
  let digest = fileDigests.get(bytes);
  if (digest === undefined) {
    digest = createHash('sha256').update(bytes).digest('hex');
    fileDigests.set(bytes, digest);
  }
  return digest;
}

/** A chunk begun or loaded: where the state stands, and how to commit the chunk's final state. */
export interface Chunk {
  /** The state to continue from; null for a start (zeros, or the request's initial states). */
  readonly carried: readonly Float32Array[] | null;
  /** Saves the chunk's final state (or ends the sequence), then lets the next chunk of the sequence go. */
  commit(final: readonly Float32Array[]): Promise<void>;
  /** Lets the next chunk go without changing the sequence (this one failed). */
  abandon(): void;
}

export class SequenceSteps {
  /** The last chunk in line per sequence (this process): the next one waits for it. */
  readonly #tails = new Map<string, Promise<void>>();

  constructor(
    readonly store: SequenceStore,
    readonly metrics: SequenceMetrics | null,
    readonly log: Pick<Logger, 'info'>,
  ) {}

  /** The sequence's key, its id checked; a bad id is a 400 naming where the client gave it. */
  key(control: SequenceControl, model: string): SequenceKey {
    const problem = sequenceIdProblem(control.id);
    if (problem !== null) invalidAt(control.at, problem);
    return { model, id: control.id };
  }

  /** Waits for the sequence's earlier chunks in this process; returns the release of this one's turn. */
  async #turn(key: SequenceKey): Promise<() => void> {
    const name = `${typeof key.id === 'bigint' ? 'i' : 's'}:${key.model}:${String(key.id)}`;
    const before = this.#tails.get(name) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => {
      release = () => {
        if (this.#tails.get(name) === mine) this.#tails.delete(name);
        resolve();
      };
    });
    this.#tails.set(name, mine);
    await before;
    return release;
  }

  /**
   * A chunk of `control`'s sequence on `served`: `plan` validates a start before it begins anything. The returned
   * chunk holds the sequence's turn until it commits or is abandoned.
   */
  async chunk(control: SequenceControl, served: SequenceModel, plan: () => void): Promise<Chunk> {
    const key = this.key(control, served.name);
    const owner: SequenceOwner = { version: served.version, weightsDigest: served.digest() };
    const release = await this.#turn(key);
    try {
      if (control.start) {
        plan();
        const begun = await this.store.begin(key, owner, []);
        if (begun.restarted) this.log.info({ sequence: String(key.id), model: key.model }, 'sequence restarted');
        return this.#chunk(key, control, null, begun.step, release, true);
      }
      const entry = await this.store.load(key);
      this.#check(control, key, entry, owner);
      return this.#chunk(key, control, (entry as SequenceEntry).state, (entry as SequenceEntry).step, release, false);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** The sequence is in progress, and on this model version and weights; else the 400 that says so. */
  #check(control: SequenceControl, key: SequenceKey, entry: SequenceEntry | null, owner: SequenceOwner): void {
    if (entry === null) {
      this.metrics?.refused('not-started');
      const id = typeof key.id === 'bigint' ? String(key.id) : quoted(key.id);
      invalidAt(
        control.at,
        `inference request for sequence ${id} to model ${quoted(key.model)} must specify the START flag ` +
          `(${control.startAt}) on the first request of the sequence: this sequence was never started, has ended, ` +
          'or expired after SEQUENCE_IDLE_MS without a request',
      );
    }
    if (!sameOwner(entry, owner)) {
      this.metrics?.refused('other-owner');
      invalidAt(
        control.at,
        `${describeSequence(key)} runs on version ${entry.version} (weights sha256 ${entry.weightsDigest.slice(0, 12)}…); ` +
          `this request is for version ${owner.version} (${owner.weightsDigest.slice(0, 12)}…): a sequence's state ` +
          'means nothing to other weights; start the sequence again on this version',
      );
    }
  }

  #chunk(
    key: SequenceKey,
    control: SequenceControl,
    carried: readonly Float32Array[] | null,
    step: number,
    release: () => void,
    started: boolean,
  ): Chunk {
    return {
      carried,
      commit: async (final) => {
        try {
          if (control.end) {
            await this.store.end(key, step);
            return;
          }
          const saved = await this.store.save(key, final, step);
          if (saved === null)
            invalidAt(
              control.at,
              `${describeSequence(key)} ended or expired while this chunk ran; its result was not kept: start the ` +
                'sequence again',
            );
        } finally {
          release();
        }
      },
      // A start that failed leaves no sequence behind (its next chunk is told to start it); any other failed chunk
      // leaves the sequence as its previous chunk left it.
      abandon: () => {
        if (started) this.store.end(key, step).catch(() => {});
        release();
      },
    };
  }
}
