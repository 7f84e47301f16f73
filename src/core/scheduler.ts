/**
 * Where and when each planned request runs.
 *
 * Small passes (below POOL_MIN_COMPUTE multiply-adds) run on the event loop at the end of the turn that received
 * them, back to back, their answers sent after all of them are computed (`place`): a lone request is answered one
 * `setImmediate` after it arrived, and under load the turn's passes run warm one after the other (docs/performance.md,
 * "Where the time goes"). Small passes of one served model that arrive together are merged into one pass when
 * their options agree (dynamic batching: layer-batch.ts); merged passes that grow past the threshold go to a worker,
 * and so does a served model's small pass while the workers are busy (it joins the next merged pass there).
 *
 * Larger passes wait in a queue for a worker thread: in priority levels (1 first, a request's `priority`, the
 * default level QUEUE_DEFAULT_PRIORITY), in arrival order within a level (Triton's priority queue policy). A
 * request is admitted by what it would wait, not by how many wait: its turn is estimated from the multiply-adds
 * queued ahead of it and the rate the workers have been computing at, and a request whose turn would come after
 * its deadline (its `timeoutMs`, or QUEUE_TIMEOUT_MS) is refused at once, 503 with Retry-After. One still waiting
 * at its deadline is answered 503 then and never computed; one whose client has gone leaves the queue. POOL_MAX_QUEUE
 * bounds how many wait, MEMORY_BUDGET_BYTES what they hold (reserved when they were planned). When a worker is free,
 * the first request of the first level goes, with every queued request it can be merged with (up to its model's
 * batch rows): a request that arrives while the workers are busy rides along in the next pass instead of waiting
 * for a pass of its own, with no delay added to one that arrives alone. A model whose passes may wait for others
 * (BATCH_MAX_DELAY_MS, or its config.pbtxt's max_queue_delay_microseconds) has all its passes queued, and the
 * first of them waits until its delay is up or enough rows are queued to fill a pass (its most rows, or a preferred
 * size), as Triton's dynamic batcher does; requests of other models go past it meanwhile.
 */
import type { QueueSettings } from '../config/config.js';
import { ProblemError } from '../errors/problem-error.js';
import { type AnswerEncoding, type EncodedAnswer, protocolOf } from '../protocols/encoding.js';
import { type Job, type JobEnvironment, type JobResult, problemOf, runJob } from '../runtime/jobs.js';
import type { WorkerPool } from '../runtime/pool.js';
import type { CoreObserver } from './observer.js';
import { type Sink, answerSafely, failSafely } from './sink.js';
import { tracePass, traced } from './trace.js';
import { type Batching, type Work, mergedJob } from './work.js';

/** A planned request. */
export interface Entry {
  readonly work: Work;
  readonly encoding: AnswerEncoding;
  readonly sink: Sink<EncodedAnswer>;
  /** performance.now() when it arrived. */
  readonly arrived: number;
  /** The latest performance.now() its turn may come at. */
  readonly deadline: number;
  /** Its queue deadline in ms, and what set it (the request's field, or the configuration's variable). */
  readonly timeoutMs: number;
  readonly timeoutFrom: string;
  /** Its level, 1 first. */
  readonly priority: number;
  /** How many requests of its model and level may wait (its model's max_queue_size); null: no bound of its own. */
  readonly bound: { readonly key: string; readonly max: number; readonly from: string } | null;
  /** What becomes of its answer, when not simply handed to the sink (a sequence chunk saves its state first). */
  readonly onAnswer?: (outcome: { readonly answer: EncodedAnswer; readonly carried?: readonly Float32Array[] }) => void;
}

export interface SchedulerOptions {
  readonly pool: WorkerPool;
  /** What jobs run with on the event loop. */
  readonly env: JobEnvironment;
  /** Passes below this many multiply-adds run on the event loop (POOL_MIN_COMPUTE). */
  readonly minCompute: number;
  /** Requests that may wait for a worker (POOL_MAX_QUEUE). */
  readonly maxQueue: number;
  readonly queue: QueueSettings;
  readonly retryAfterSeconds: number;
  readonly observer: CoreObserver;
  /** The rate (multiply-adds per second of one worker) assumed until one is measured; FIRST_RATE by default. */
  readonly initialRate?: number;
}

/** The rate a worker computes at before any was measured (multiply-adds per second): the engine's low end. */
const FIRST_RATE = 1.5e9;
/** A job's cost beside the pass (the round trip to a worker, the answers' writing), in seconds. */
const JOB_OVERHEAD_SECONDS = 0.0005;
/** Passes of at least this many multiply-adds teach the rate (smaller ones measure mostly their overhead). */
const RATE_MIN_COST = 1_000_000;

/** A pass under way on a worker (or, without workers, on the event loop). */
interface Running {
  readonly cost: number;
  readonly started: number;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  /** Queued entries, one list per priority level (index 0: level 1). */
  readonly #levels: Entry[][];
  /** The multiply-adds queued at each level (what `#waitSeconds` adds up at every request it admits). */
  readonly #levelCosts: number[];
  #waiting = 0;
  #waitingCost = 0;
  readonly #running = new Set<Running>();
  /** Multiply-adds per second of one worker, as measured (exponential average). */
  #rate = FIRST_RATE;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  /** Rows in the queue, by batch key (a small pass of a key with queued work joins it there). */
  readonly #queuedRows = new Map<string, number>();
  /** Entries in the queue, by their model's bound (max_queue_size). */
  readonly #bounded = new Map<string, number>();
  /** A timer for the first pass held back for others to join it (BATCH_MAX_DELAY_MS). */
  #delayTimer: NodeJS.Timeout | null = null;
  #delayAt = Number.POSITIVE_INFINITY;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#rate = options.initialRate ?? FIRST_RATE;
    this.#levels = Array.from({ length: options.queue.priorityLevels }, () => []);
    this.#levelCosts = this.#levels.map(() => 0);
  }

  /** Requests waiting for a worker. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Their multiply-adds. */
  get waitingCost(): number {
    return this.#waitingCost;
  }

  /** The rate the workers compute at, multiply-adds per second each, as measured. */
  get rate(): number {
    return this.#rate;
  }

  /** Passes that can run at once: the worker threads, or one at a time on the event loop without them. */
  get #capacity(): number {
    return Math.max(1, this.#options.pool.threads);
  }

  /**
   * Places one turn's planned requests: the small ones computed here and now (merged where they can be), the rest
   * queued for a worker.
   */
  place(entries: readonly Entry[]): void {
    const { minCompute } = this.#options;
    const pooled = this.#options.pool.threads > 0;
    // Passes run here alone (most requests: a model described by the request, or a lone one), and groups of a
    // served model's passes that may merge.
    const alone: Entry[] = [];
    let groups: Map<string, Entry[]> | null = null;
    for (const entry of entries) {
      const { cost, key, batching } = entry.work;
      // A served model's small pass goes to the queue while the workers are busy (or its model's requests wait
      // there), or when its model's passes wait for others to join them (BATCH_MAX_DELAY_MS): it rides in the next
      // merged pass instead of holding the event loop with a pass of its own.
      const busy =
        key !== null &&
        (batching.maxDelayMs > 0 || (pooled && (this.#queuedRows.has(key) || this.#running.size >= this.#capacity)));
      if (cost >= minCompute || busy) this.#enqueue(entry);
      else if (key === null) alone.push(entry);
      else {
        groups ??= new Map();
        const group = groups.get(key);
        if (group === undefined) groups.set(key, [entry]);
        else group.push(entry);
      }
    }
    const merged: Entry[][] = [];
    if (groups !== null)
      for (const group of groups.values()) {
        const cost = group.reduce((n, e) => n + e.work.cost, 0);
        if (cost >= minCompute && pooled) for (const entry of group) this.#enqueue(entry);
        else merged.push(...byRows(group, group[0].work.batching.maxRows));
      }
    if (alone.length > 0 || merged.length > 0) this.#runHere(alone, merged);
    this.#pump();
  }

  /**
   * Computes passes on the event loop, then sends their answers (all passes first: sending makes a system call
   * each, and the passes run warm one after the other).
   */
  #runHere(alone: readonly Entry[], merged: readonly Entry[][]): void {
    const results: (JobResult | Error)[] = [];
    // For traced requests: the clock before the first pass and after each (they run back to back).
    const times = traced(alone) || merged.some(traced) ? [performance.now()] : null;
    for (const entry of alone) {
      results.push(this.#run(entry.work.job(true)));
      times?.push(performance.now());
    }
    for (const unit of merged) {
      results.push(this.#run(this.#job(unit, true)));
      times?.push(performance.now());
    }
    if (times !== null)
      [...alone.map((entry) => [entry]), ...merged].forEach((unit, i) =>
        tracePass(unit, results[i], times[i], times[i + 1], 'event-loop'),
      );
    for (let i = 0; i < alone.length; i++) this.#deliverOne(alone[i], results[i]);
    for (let i = 0; i < merged.length; i++) this.#deliver(merged[i], results[alone.length + i]);
  }

  /** A pass of one request: its answer or problem, and what the metrics count. */
  #deliverOne(entry: Entry, result: JobResult | Error): void {
    this.#deliver([entry], result);
  }

  #job(unit: readonly Entry[], inline: boolean): Job {
    if (unit.length === 1) return unit[0].work.job(inline);
    return mergedJob(
      unit.map((e) => e.work),
      unit.map((e) => e.encoding),
      inline,
    );
  }

  /** Runs a job here: its result, or what it threw. */
  #run(job: Job): JobResult | Error {
    try {
      return runJob(job, this.#options.env);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #deliver(unit: readonly Entry[], result: JobResult | Error): void {
    const { observer } = this.#options;
    if (result instanceof Error) {
      for (const entry of unit) {
        if (entry.work.model !== null)
          observer.inference(entry.work.model, outcomeOf(result), 0, protocolOf(entry.encoding));
        failSafely(entry.sink, result);
      }
      return;
    }
    const shape = unit.length === 1 ? (unit[0].work.shape ?? result.shape ?? null) : merged(unit);
    if (shape !== null) observer.pass(shape, result.computeSeconds);
    if (unit.length > 1)
      observer.batch(
        unit.length,
        unit.reduce((n, e) => n + e.work.rows, 0),
      );
    unit.forEach((entry, i) => {
      const outcome = result.outcomes[i];
      if ('answer' in outcome) {
        if (entry.work.model !== null)
          observer.inference(entry.work.model, 'ok', result.computeSeconds, protocolOf(entry.encoding));
        if (entry.onAnswer === undefined) answerSafely(entry.sink, outcome.answer);
        else entry.onAnswer(outcome);
      } else {
        if (entry.work.model !== null)
          observer.inference(entry.work.model, outcome.problem.kind, result.computeSeconds, protocolOf(entry.encoding));
        failSafely(entry.sink, problemOf(outcome.problem));
      }
    });
  }

  /** Seconds until a request of level `priority` would start: the work ahead of it over the workers' rate. */
  #waitSeconds(priority: number): { seconds: number; ahead: number; cost: number } {
    let ahead = 0;
    let cost = 0;
    for (let level = 0; level < Math.min(priority, this.#levels.length); level++) {
      ahead += this.#levels[level].length;
      cost += this.#levelCosts[level];
    }
    const now = performance.now();
    let busy = 0;
    for (const running of this.#running)
      busy += Math.max(0, running.cost / this.#rate - (now - running.started) / 1000);
    const capacity = this.#capacity;
    // With a free worker nothing is ahead; else the queue drains over every worker.
    const free = this.#running.size < capacity && ahead === 0;
    const seconds = free ? 0 : (busy + cost / this.#rate + ahead * JOB_OVERHEAD_SECONDS) / capacity;
    return { seconds, ahead, cost };
  }

  #refuse(entry: Entry, reason: 'queue-full' | 'deadline', detail: string, retryAfter: number): void {
    this.#options.observer.refused(reason);
    if (entry.work.model !== null)
      this.#options.observer.inference(entry.work.model, 'overloaded', 0, protocolOf(entry.encoding));
    failSafely(entry.sink, new ProblemError('overloaded', detail, [], { 'retry-after': String(retryAfter) }));
  }

  #enqueue(entry: Entry): void {
    const { maxQueue, retryAfterSeconds } = this.#options;
    if (this.#waiting >= maxQueue) {
      this.#refuse(
        entry,
        'queue-full',
        `the compute queue is full (${maxQueue} waiting, POOL_MAX_QUEUE); retry after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
      return;
    }
    const { bound } = entry;
    if (bound !== null && (this.#bounded.get(bound.key) ?? 0) >= bound.max) {
      this.#refuse(
        entry,
        'queue-full',
        `its model's queue is full (${bound.max} waiting at priority ${entry.priority}, ${bound.from}); retry ` +
          `after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
      return;
    }
    const now = performance.now();
    if (now > entry.deadline) {
      this.#refuse(
        entry,
        'deadline',
        `it reached the compute queue ${Math.round(now - entry.arrived)} ms after it arrived (the time its body took ` +
          `to arrive and be read), past its deadline of ${entry.timeoutMs} ms (${entry.timeoutFrom}); nothing was ` +
          `computed; retry after ${retryAfterSeconds} s`,
        retryAfterSeconds,
      );
      return;
    }
    const wait = this.#waitSeconds(entry.priority);
    const start = now + wait.seconds * 1000;
    if (start > entry.deadline) {
      const late = Math.max(retryAfterSeconds, Math.ceil((start - entry.deadline) / 1000));
      this.#refuse(
        entry,
        'deadline',
        `its turn would come in about ${Math.ceil(wait.seconds * 1000)} ms (${wait.ahead} request(s) of ` +
          `${wait.cost} multiply-adds queued ahead of it at priority ${entry.priority} or before, besides the passes ` +
          `running), after its deadline of ${entry.timeoutMs} ms (${entry.timeoutFrom}); retry after ${late} s`,
        late,
      );
      return;
    }
    // A model's own priority levels may be more than the server's.
    while (this.#levels.length < entry.priority) {
      this.#levels.push([]);
      this.#levelCosts.push(0);
    }
    this.#levels[entry.priority - 1].push(entry);
    this.#levelCosts[entry.priority - 1] += entry.work.cost;
    entry.sink.trace?.queued(entry.priority, entry.timeoutMs);
    if (bound !== null) this.#bounded.set(bound.key, (this.#bounded.get(bound.key) ?? 0) + 1);
    this.#waiting += 1;
    this.#waitingCost += entry.work.cost;
    const { key } = entry.work;
    if (key !== null) this.#queuedRows.set(key, (this.#queuedRows.get(key) ?? 0) + entry.work.rows);
    // A client that leaves takes its request out of the queue at once (its memory is given back when it closes).
    entry.sink.gone().addEventListener('abort', () => this.#remove(entry) && this.#pump(), { once: true });
    this.#arm(entry.deadline);
  }

  /** Takes an entry out of the queue; false when it was not there (taken already). */
  #remove(entry: Entry): boolean {
    const level = this.#levels[entry.priority - 1];
    const at = level.indexOf(entry);
    if (at < 0) return false;
    level.splice(at, 1);
    // Exactly 0 once the level is empty, whatever rounding the costs' sums and differences left.
    this.#levelCosts[entry.priority - 1] =
      level.length === 0 ? 0 : this.#levelCosts[entry.priority - 1] - entry.work.cost;
    const { bound } = entry;
    if (bound !== null) {
      const left = (this.#bounded.get(bound.key) ?? 1) - 1;
      if (left === 0) this.#bounded.delete(bound.key);
      else this.#bounded.set(bound.key, left);
    }
    this.#waiting -= 1;
    this.#waitingCost -= entry.work.cost;
    const { key } = entry.work;
    if (key !== null) {
      const left = (this.#queuedRows.get(key) ?? 0) - entry.work.rows;
      if (left <= 0) this.#queuedRows.delete(key);
      else this.#queuedRows.set(key, left);
    }
    return true;
  }

  /** A timer for the earliest deadline in the queue (one timer, however many wait). */
  #arm(deadline: number): void {
    if (deadline >= this.#timerAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()) + 1);
    this.#timer.unref();
  }

  /** Answers the requests whose deadline has passed (503, nothing computed), and waits for the next deadline. */
  #expire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const level of this.#levels) {
      for (const entry of [...level]) {
        if (entry.deadline > now) {
          next = Math.min(next, entry.deadline);
          continue;
        }
        this.#remove(entry);
        this.#options.observer.refused('queue-timeout');
        if (entry.work.model !== null)
          this.#options.observer.inference(entry.work.model, 'queue-timeout', 0, protocolOf(entry.encoding));
        const retry = this.#options.retryAfterSeconds;
        const problem = new ProblemError(
          'queue-timeout',
          `waited ${Math.round(now - entry.arrived)} ms for its turn, past its deadline of ${entry.timeoutMs} ms ` +
            `(${entry.timeoutFrom}); nothing was computed; retry after ${retry} s`,
          [],
          { 'retry-after': String(retry) },
        );
        entry.sink.trace?.dequeued(now, problem);
        failSafely(entry.sink, problem);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }

  /**
   * The next pass: the first request of the first level, with the queued requests it can be merged with. A request
   * whose model's passes wait for others (BATCH_MAX_DELAY_MS) is passed over, with the rest of its model's, until its
   * delay is up or its model's queued rows reach a preferred size or the most a pass holds.
   */
  #nextUnit(): Entry[] | null {
    const now = performance.now();
    let held: Set<string> | null = null;
    let wake = Number.POSITIVE_INFINITY;
    let unit: Entry[] | null = null;
    search: for (const level of this.#levels) {
      for (const entry of level) {
        const { key, batching } = entry.work;
        if (key === null || batching.maxDelayMs === 0) {
          unit = this.#gather(entry, batching.maxRows);
          break search;
        }
        if (held?.has(key)) continue;
        const rows = this.#queuedRows.get(key) ?? 0;
        const until = entry.arrived + batching.maxDelayMs;
        const size = passRows(batching, rows);
        if (size !== null || now >= until) {
          unit = this.#gather(entry, size ?? batching.maxRows);
          break search;
        }
        held ??= new Set();
        held.add(key);
        wake = Math.min(wake, until);
      }
    }
    if (wake !== Number.POSITIVE_INFINITY) this.#armDelay(wake);
    return unit;
  }

  /** Takes `head` from the queue with the queued requests of its key that fit in `maxRows` rows beside it. */
  #gather(head: Entry, maxRows: number): Entry[] {
    this.#remove(head);
    const unit = [head];
    const { key, batching } = head.work;
    if (key === null || (this.#options.pool.threads === 0 && batching.maxDelayMs === 0)) return unit;
    let rows = head.work.rows;
    for (const other of this.#levels) {
      for (const entry of [...other]) {
        if (rows >= maxRows) return unit;
        if (entry.work.key !== key || rows + entry.work.rows > maxRows) continue;
        this.#remove(entry);
        unit.push(entry);
        rows += entry.work.rows;
      }
    }
    return unit;
  }

  /** Pumps again when the first held pass's delay is up. */
  #armDelay(at: number): void {
    if (at >= this.#delayAt) return;
    if (this.#delayTimer !== null) clearTimeout(this.#delayTimer);
    this.#delayAt = at;
    this.#delayTimer = setTimeout(
      () => {
        this.#delayTimer = null;
        this.#delayAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, at - performance.now()),
    );
    this.#delayTimer.unref();
  }

  /** Starts passes while there is room. */
  #pump(): void {
    while (this.#running.size < this.#capacity) {
      const unit = this.#nextUnit();
      if (unit === null) return;
      this.#start(unit);
    }
  }

  #start(unit: Entry[]): void {
    const now = performance.now();
    for (const entry of unit) {
      this.#options.observer.waited((now - entry.arrived) / 1000);
      entry.sink.trace?.dequeued(now);
    }
    const cost = unit.reduce((n, e) => n + e.work.cost, 0);
    const running: Running = { cost, started: now };
    this.#running.add(running);
    const pooled = this.#options.pool.threads > 0;
    const tracing = traced(unit);
    const done = (result: JobResult | Error) => {
      if (tracing) tracePass(unit, result, now, performance.now(), pooled ? 'worker' : 'event-loop');
      this.#running.delete(running);
      if (!(result instanceof Error) && cost >= RATE_MIN_COST && result.computeSeconds > 0)
        this.#rate = 0.8 * this.#rate + 0.2 * (cost / result.computeSeconds);
      // The next pass first: the worker computes it while these answers are sent.
      this.#pump();
      this.#deliver(unit, result);
    };
    let job: Job;
    try {
      job = this.#job(unit, !pooled);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (!pooled) {
      // Without workers a large pass runs here, in a turn of its own: the requests already received are read first.
      setImmediate(() => done(this.#run(job)));
      return;
    }
    // A pass whose clients have all gone frees its place at once (its worker is stopped and replaced meanwhile).
    const signal = allGone(unit);
    signal.addEventListener(
      'abort',
      () => {
        if (this.#running.delete(running)) this.#pump();
      },
      { once: true },
    );
    this.#options.pool
      .run(job, signal)
      .then(done, (error: unknown) => done(error instanceof Error ? error : new Error(String(error))));
  }
}

/**
 * The rows a pass of a held model goes at now, given `rows` queued: the most a pass holds once they are there, else
 * the largest preferred size reached (Triton's preferred_batch_size); null: none reached, it may wait on.
 */
export function passRows(batching: Batching, rows: number): number | null {
  if (rows >= batching.maxRows) return batching.maxRows;
  let size: number | null = null;
  for (const preferred of batching.preferredRows) if (preferred <= rows) size = preferred;
  return size;
}

/** The entries in groups of at most `maxRows` rows (one entry alone however many rows it has). */
function byRows(entries: readonly Entry[], maxRows: number): Entry[][] {
  const units: Entry[][] = [];
  let unit: Entry[] = [];
  let rows = 0;
  for (const entry of entries) {
    if (unit.length > 0 && rows + entry.work.rows > maxRows) {
      units.push(unit);
      unit = [];
      rows = 0;
    }
    unit.push(entry);
    rows += entry.work.rows;
  }
  if (unit.length > 0) units.push(unit);
  return units;
}

/** A merged pass's shape, for the metrics: the rows together, the longest sequence. */
function merged(unit: readonly Entry[]): readonly number[] | null {
  const shapes = unit.map((e) => e.work.shape).filter((s) => s !== null);
  if (shapes.length === 0) return null;
  return [shapes.reduce((n, s) => n + s[0], 0), Math.max(...shapes.map((s) => s[1] ?? 0))];
}

const outcomeOf = (error: Error): string => (error instanceof ProblemError ? error.kind : 'error');

/** A signal that aborts once every request of the unit has lost its client: the pass then serves nobody. */
function allGone(unit: readonly Entry[]): AbortSignal {
  const controller = new AbortController();
  let left = unit.length;
  for (const entry of unit) {
    const signal = entry.sink.gone();
    if (signal.aborted) left -= 1;
    else
      signal.addEventListener(
        'abort',
        () => {
          left -= 1;
          if (left === 0) controller.abort();
        },
        { once: true },
      );
  }
  if (left === 0) controller.abort();
  return controller.signal;
}
