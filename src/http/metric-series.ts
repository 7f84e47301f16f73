/**
 * Counters and histograms for what is recorded on every request, without prom-client's per-call work: its
 * `inc(labels)` and `observe(labels, value)` validate the label object and build and hash a key string from it
 * on every call (~0.25 µs and ~0.4 µs measured). Here a label set's series is found through nested maps, one
 * level per label, keyed by the values themselves (route templates and methods are strings the router and
 * the HTTP parser reuse, statuses are small integers), so no string is built or hashed per call (~0.05 µs).
 * prom-client reads the series only at scrape time, through the `get()` of a metric object registered with
 * `registry.registerMetric`, and prints them exactly as its own Counter and Histogram would for the same
 * observations (test/http/plugins/metric-series.test.ts holds the two texts equal).
 */
import type { Metric, Registry } from 'prom-client';

export type LabelValue = string | number;
export type Labels = Record<string, LabelValue>;

/** One label set's observations. */
export class Series {
  count = 0;
  sum = 0;
  /**
   * `buckets[i]`: observations in (upperBounds[i-1], upperBounds[i]], not cumulative; above the last bound, only in
   * count.
   */
  readonly buckets: number[];

  constructor(
    readonly labels: Labels,
    readonly upperBounds: readonly number[],
  ) {
    this.buckets = upperBounds.map(() => 0);
  }

  /** For a counter. */
  inc(): void {
    this.count += 1;
  }

  /** For a histogram. */
  observe(value: number): void {
    // prom-client refuses these too; a NaN would make the sum NaN for good.
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    this.count += 1;
    this.sum += value;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        this.buckets[i] += 1;
        return;
      }
    }
  }
}

type Index = Map<LabelValue, Index | Series>;

/** The series of one metric, in the order their label sets were first seen (prom-client's order). */
export class SeriesSet {
  readonly #all: Series[] = [];
  readonly #index: Index = new Map();

  /** `upperBounds`: a histogram's buckets, ascending; none for a counter. */
  constructor(
    readonly labelNames: readonly string[],
    readonly upperBounds: readonly number[] = [],
  ) {
    // Like prom-client's, a metric without labels is exposed (at 0) before its first observation.
    if (labelNames.length === 0) this.#all.push(new Series({}, upperBounds));
  }

  /** The series of the label set with these values, in `labelNames` order; made on first use. */
  at(...values: LabelValue[]): Series {
    if (values.length !== this.labelNames.length)
      throw new TypeError(`expected ${this.labelNames.length} label values, got ${values.length}`);
    if (values.length === 0) return this.#all[0];
    let index = this.#index;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = index.get(values[i]) as Index | undefined;
      if (next === undefined) {
        next = new Map();
        index.set(values[i], next);
      }
      index = next;
    }
    let series = index.get(values[last]) as Series | undefined;
    if (series === undefined) {
      const labels: Labels = {};
      for (let i = 0; i < values.length; i++) labels[this.labelNames[i]] = values[i];
      series = new Series(labels, this.upperBounds);
      index.set(values[last], series);
      this.#all.push(series);
    }
    return series;
  }

  values(): readonly Series[] {
    return this.#all;
  }

  /** For `registry.resetMetrics()`: zeroes every series and keeps it, so series held by callers stay exposed. */
  reset(): void {
    for (const series of this.#all) {
      series.count = 0;
      series.sum = 0;
      series.buckets.fill(0);
    }
  }
}

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

function register(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  set: SeriesSet,
  values: () => MetricValue[],
): void {
  const metric = {
    name,
    help,
    type,
    // Read by docs/metrics.md's generator, as prom-client's own metrics have them.
    labelNames: set.labelNames,
    ...(type === 'histogram' ? { upperBounds: set.upperBounds } : {}),
    aggregator: 'sum',
    async get() {
      return { name, help, type, values: values(), aggregator: 'sum' };
    },
    reset: () => set.reset(),
  };
  // The registry reads only these members (prom-client's types admit its own classes only).
  registry.registerMetric(metric as unknown as Metric);
}

/** A counter whose values are the series' counts. */
export function registerCounter(registry: Registry, name: string, help: string, set: SeriesSet): void {
  register(registry, name, help, 'counter', set, () =>
    set.values().map((series) => ({ value: series.count, labels: series.labels })),
  );
}

/** A histogram of the series, as prom-client writes one: cumulative buckets, `le="+Inf"`, then `_sum` and `_count`. */
export function registerHistogram(registry: Registry, name: string, help: string, set: SeriesSet): void {
  const bucket = `${name}_bucket`;
  register(registry, name, help, 'histogram', set, () => {
    const values: MetricValue[] = [];
    for (const { labels, buckets, count, sum } of set.values()) {
      let cumulative = 0;
      for (let i = 0; i < buckets.length; i++) {
        cumulative += buckets[i];
        values.push({ value: cumulative, labels: { le: set.upperBounds[i], ...labels }, metricName: bucket });
      }
      values.push(
        { value: count, labels: { le: '+Inf', ...labels }, metricName: bucket },
        { value: sum, labels, metricName: `${name}_sum` },
        { value: count, labels, metricName: `${name}_count` },
      );
    }
    return values;
  });
}
