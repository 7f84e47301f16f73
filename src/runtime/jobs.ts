/**
 * The work of one pass, as plain data that runs the same on the event loop and on a worker: a layer model's plan
 * (several requests merged into it, each with its answer's form), an ONNX graph's run, a POST /rnn/forward body not
 * parsed yet, or a /rnn/weights export. Running it gives one outcome per request: its answer, written where the pass
 * ran, or the problem that refused it (one request's answer JSON cannot carry fails that request alone).
 */
import type { ProblemDetail } from '../../schemas/problem.js';
import type { WeightsRequest } from '../../schemas/weights.js';
import type { Limits } from '../config/config.js';
import type { JsonAnswer } from '../codec/json-stream.js';
import { ProblemError, type ProblemKind } from '../errors/problem-error.js';
import type { InferenceResult } from '../inference/request.js';
import type { LayerPlan } from '../inference/layer-plan.js';
import { carriedState, computeForward, layerFacts, resultTensors } from '../inference/layer-run.js';
import { type BatchMember, splitLayerResult } from '../inference/layer-batch.js';
import type { ResolvedModel } from '../inference/model.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { resolveWeightsRequest, weightsAnswer } from '../inference/weights-export.js';
import { type OnnxRunInputs, runOnnx } from '../models/onnx/backend.js';
import { type OnnxProgram, type OnnxSource, type ProgramPlan, planProgram } from '../models/onnx/program.js';
import { type AnswerEncoding, type EncodedAnswer, encodeAnswer } from '../protocols/encoding.js';
import { forwardFromJson } from '../protocols/forward-json.js';

/** A layer plan as it crosses to a worker: a seeded model's weights are left out (the worker builds its own). */
export type LayerTaskPlan = Omit<LayerPlan, 'model'> & {
  readonly model: Omit<ResolvedModel, 'weights'> & { readonly weights: ResolvedModel['weights'] | null };
};

/** One request of a layer job: its rows of the pass (null: the whole pass), its answer's facts and form. */
export interface LayerMember {
  readonly rows: BatchMember | null;
  /** A sequence chunk: its outcome carries its final state. */
  readonly carry: boolean;
  readonly facts: InferenceResult['facts'];
  readonly encoding: AnswerEncoding;
}

export type Job =
  | { readonly kind: 'layers'; readonly plan: LayerTaskPlan; readonly members: readonly LayerMember[] }
  | {
      readonly kind: 'onnx';
      readonly source: OnnxSource;
      readonly run: OnnxRunInputs;
      readonly encoding: AnswerEncoding;
      /** Inline only: the program and its plan, already made (a worker decodes and plans its own). */
      readonly local?: { readonly program: OnnxProgram; readonly plan: ProgramPlan };
    }
  | { readonly kind: 'forward-json'; readonly bytes: Uint8Array; readonly limits: Limits }
  | { readonly kind: 'weights'; readonly request: WeightsRequest; readonly limits: Limits };

/** A problem as data (a ProblemError does not survive structured clone). */
export interface ProblemData {
  readonly kind: ProblemKind;
  readonly detail: string;
  readonly errors: readonly ProblemDetail[];
  readonly errorCount: number;
}

export type Outcome =
  | {
      readonly answer: EncodedAnswer;
      /** A sequence chunk's final state, for its next chunk (layer-run.ts `carriedState`). */
      readonly carried?: readonly Float32Array[];
    }
  | { readonly problem: ProblemData };

export interface JobResult {
  readonly outcomes: readonly Outcome[];
  /** The pass and the writing of its answers, in seconds (not parsing or validation). */
  readonly computeSeconds: number;
  /** A body parsed on the worker: the shape it had ([batch, time, features]), for the metrics. */
  readonly shape?: readonly number[];
}

export function problemData(error: ProblemError): ProblemData {
  return { kind: error.kind, detail: error.message, errors: [...error.errors], errorCount: error.errorCount };
}

export const problemOf = (data: ProblemData): ProblemError =>
  data.errors.length > 0
    ? ProblemError.at(data.kind, data.errors, data.errorCount)
    : new ProblemError(data.kind, data.detail, [], {}, data.errorCount);

/** Writes an answer; a ProblemError (a value JSON cannot carry) is that request's outcome alone. */
function outcome(encoding: AnswerEncoding, result: InferenceResult): Outcome {
  try {
    return { answer: encodeAnswer(encoding, result) };
  } catch (error) {
    if (error instanceof ProblemError) return { problem: problemData(error) };
    throw error;
  }
}

/** What runs a job needs from where it runs: seeded weights and decoded ONNX programs. */
export interface JobEnvironment {
  readonly cache: SeededWeightsCache;
  program(source: OnnxSource): OnnxProgram;
}

/** The plan with its model's weights: given, or (seeded, on a worker) built from the seed. */
function withWeights(plan: LayerTaskPlan, cache: SeededWeightsCache): LayerPlan {
  const { model } = plan;
  if (model.weights !== null) return plan as LayerPlan;
  const weights = cache.get(model.seed as number, model.spec, model.inputDim);
  return { ...plan, model: { ...model, buildCost: 0, weights } };
}

function runLayerJob(task: LayerTaskPlan, members: readonly LayerMember[], env: JobEnvironment): Outcome[] {
  const plan = withWeights(task, env.cache);
  const network = computeForward(plan);
  // A sequence chunk's outcome carries its row of the final states, for its next chunk (a chunk has one row).
  const carrying = (member: LayerMember, done: Outcome, row: number): Outcome =>
    member.carry && 'answer' in done ? { answer: done.answer, carried: carriedState(plan, network, row) } : done;
  if (members.length === 1 && members[0].rows === null) {
    const member = members[0];
    return [
      carrying(member, outcome(member.encoding, { tensors: resultTensors(plan, network), facts: member.facts }), 0),
    ];
  }
  const result = { tensors: resultTensors(plan, network), facts: layerFacts(plan) };
  const parts = splitLayerResult(
    result,
    members.map((m) => m.rows as BatchMember),
    members.map((m) => m.facts),
  );
  let row = 0;
  return parts.map((part, i) => {
    const first = row;
    row += members[i].rows?.rows ?? 0;
    return carrying(members[i], outcome(members[i].encoding, part), first);
  });
}

/** Runs a job (any ProblemError it throws is every request's outcome). */
export function runJob(job: Job, env: JobEnvironment): JobResult {
  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  try {
    switch (job.kind) {
      case 'layers':
        return { outcomes: runLayerJob(job.plan, job.members, env), computeSeconds: seconds() };
      case 'onnx': {
        const program = job.local?.program ?? env.program(job.source);
        const metas = new Map([...job.run.inputs].map(([name, { type, shape }]) => [name, { type, shape }]));
        const plan = job.local?.plan ?? planProgram(program, metas);
        const result = runOnnx(program, plan, job.run);
        const done = outcome(job.encoding, result);
        const carried =
          job.run.carry.length > 0 && 'answer' in done ? { answer: done.answer, carried: result.carried } : done;
        return { outcomes: [carried], computeSeconds: seconds() };
      }
      case 'forward-json': {
        const parsed = forwardFromJson(job.bytes, job.limits, env.cache);
        return { outcomes: [{ answer: parsed.body }], computeSeconds: parsed.computeSeconds, shape: parsed.shape };
      }
      case 'weights': {
        const model = resolveWeightsRequest(job.request, job.limits, env.cache);
        const answer: JsonAnswer = weightsAnswer(model);
        return { outcomes: [{ answer }], computeSeconds: seconds() };
      }
    }
  } catch (error) {
    if (error instanceof ProblemError) {
      const members = job.kind === 'layers' ? job.members.length : 1;
      return {
        outcomes: Array.from({ length: members }, () => ({ problem: problemData(error) })),
        computeSeconds: seconds(),
      };
    }
    throw error;
  }
}
