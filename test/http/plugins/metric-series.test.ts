import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { Series, SeriesSet, registerCounter, registerHistogram } from '../../../src/http/metric-series.js';

const LATENCY = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZES = [1, 2, 4, 8, 16, 32];

/** The same metrics twice: prom-client's own in one registry, ours (series read at scrape time) in another. */
function twins() {
  const theirs = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requestsTotal = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [theirs],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Latency',
    labelNames,
    buckets: LATENCY,
    registers: [theirs],
  });
  const sizes = new Histogram({ name: 'batch_size', help: 'Sizes', buckets: SIZES, registers: [theirs] });
  const outcomes = new Counter({
    name: 'inferences_total',
    help: 'By outcome',
    labelNames: ['model', 'outcome'] as const,
    registers: [theirs],
  });

  const ours = new Registry();
  const requests = new SeriesSet(['method', 'route', 'status_code'], LATENCY);
  registerCounter(ours, 'http_requests_total', 'HTTP requests answered', requests);
  registerHistogram(ours, 'http_request_duration_seconds', 'Latency', requests);
  const ourSizes = new SeriesSet([], SIZES);
  registerHistogram(ours, 'batch_size', 'Sizes', ourSizes);
  const ourOutcomes = new SeriesSet(['model', 'outcome']);
  registerCounter(ours, 'inferences_total', 'By outcome', ourOutcomes);

  return {
    theirs,
    ours,
    request(method: string, route: string, status: number, seconds: number) {
      requestsTotal.inc({ method, route, status_code: status });
      latency.observe({ method, route, status_code: status }, seconds);
      requests.at(method, route, status).observe(seconds);
    },
    size(n: number) {
      sizes.observe(n);
      ourSizes.at().observe(n);
    },
    outcome(model: string, outcome: string) {
      outcomes.inc({ model, outcome });
      ourOutcomes.at(model, outcome).inc();
    },
  };
}

/** A deterministic stream of numbers in [0, 1). */
function* lcg(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    yield state / 2 ** 31;
  }
}

t.test(
  'before any observation: labelled metrics have no samples, unlabelled ones are at 0, as with prom-client',
  async (t) => {
    const { theirs, ours } = twins();
    const text = await ours.metrics();
    t.equal(text, await theirs.metrics());
    t.match(text, /^batch_size_bucket\{le="\+Inf"\} 0$/m);
    t.notMatch(text, /^http_requests_total\{/m);
  },
);

t.test("the exposition text is exactly prom-client's for the same observations", async (t) => {
  const m = twins();
  const random = lcg(7);
  const next = () => random.next().value as number;
  // Label values that need escaping, statuses as numbers, values on bucket bounds, at 0 and above the last bound.
  const routes = ['/rnn/forward', 'unmatched', '/models/:name/forward', 'a "quoted" \\ route\nwith a newline'];
  const methods = ['POST', 'GET', 'HEAD'];
  const statuses = [200, 400, 404, 503];
  const special = [0, 0.001, 0.0025, 10, 10.000001, 42, 1e-9];
  for (let i = 0; i < 2000; i++) {
    const value = i % 7 === 0 ? special[i % special.length] : next() ** 3 * 3;
    m.request(
      methods[Math.floor(next() * 3)],
      routes[Math.floor(next() * routes.length)],
      statuses[Math.floor(next() * 4)],
      value,
    );
    m.size([1, 3, 4, 17, 32, 64, 1000][i % 7]);
    if (i % 3 === 0)
      m.outcome(
        i % 2 === 0 ? 'hello' : 'stack',
        ['ok', 'invalid-request', 'error'][i % 3 === 0 ? Math.floor(next() * 3) : 0],
      );
  }
  const text = await m.ours.metrics();
  t.equal(text, await m.theirs.metrics());
  // And it says what it should, independently of prom-client: 2000 sizes cycling through 7 values, the first 5 of them
  // 286 times.
  t.match(text, /^batch_size_bucket\{le="1"\} 286$/m, '1 is in le="1"');
  t.match(text, /^batch_size_bucket\{le="4"\} 858$/m, '1, 3 and 4');
  t.match(text, /^batch_size_bucket\{le="32"\} 1430$/m, 'all but 64 and 1000 (285 times each)');
  t.match(text, /^batch_size_bucket\{le="\+Inf"\} 2000$/m);
  t.match(text, /^batch_size_count 2000$/m);
  t.match(
    text,
    /^http_request_duration_seconds_bucket\{le="0\.001",method="POST",route="\/rnn\/forward",status_code="200"\} \d+$/m,
  );
  t.match(
    text,
    /route="a \\"quoted\\" \\\\ route\\nwith a newline"/,
    'label values escaped as prom-client escapes them',
  );

  const json = async (registry: Registry) =>
    (await registry.getMetricsAsJSON()).map((metric) => ({
      ...metric,
      values: metric.values.map((value) => {
        const { exemplar: _exemplar, ...rest } = value as typeof value & { exemplar?: unknown };
        return rest;
      }),
    }));
  t.same(await json(m.ours), await json(m.theirs), 'get() gives the values prom-client gives (exemplars aside)');
});

t.test('counts and latencies of one label set share a series: the counter is the histogram count', async (t) => {
  const m = twins();
  for (const seconds of [0.0005, 0.003, 0.2, 20]) m.request('POST', '/rnn/forward', 200, seconds);
  const text = await m.ours.metrics();
  const labels = 'method="POST",route="/rnn/forward",status_code="200"';
  t.match(text, new RegExp(`^http_requests_total\\{${labels}\\} 4$`, 'm'));
  t.match(text, new RegExp(`^http_request_duration_seconds_count\\{${labels}\\} 4$`, 'm'));
  t.match(text, new RegExp(`^http_request_duration_seconds_bucket\\{le="0\\.005",${labels}\\} 2$`, 'm'));
  t.match(
    text,
    new RegExp(`^http_request_duration_seconds_bucket\\{le="10",${labels}\\} 3$`, 'm'),
    '20 s is above every bound',
  );
  t.match(text, new RegExp(`^http_request_duration_seconds_sum\\{${labels}\\} 20\\.2035$`, 'm'));
});

t.test('a label set is found by its values: one series per set, whatever order sets come in', async (t) => {
  const set = new SeriesSet(['method', 'route', 'status_code']);
  const a = set.at('POST', '/rnn/forward', 200);
  t.equal(set.at('GET', '/rnn/forward', 200), set.at('GET', '/rnn/forward', 200));
  t.equal(set.at('POST', '/rnn/forward', 200), a, 'the same series again');
  t.not(set.at('POST', '/rnn/forward', 400), a);
  t.not(set.at('POST', '/healthz', 200), a);
  t.same(
    set.values().map((series) => series.labels),
    [
      { method: 'POST', route: '/rnn/forward', status_code: 200 },
      { method: 'GET', route: '/rnn/forward', status_code: 200 },
      { method: 'POST', route: '/rnn/forward', status_code: 400 },
      { method: 'POST', route: '/healthz', status_code: 200 },
    ],
    'in the order first seen, labels named in labelNames order',
  );
  t.throws(() => set.at('POST', '/rnn/forward'), /expected 3 label values, got 2/);
});

t.test('a series refuses what prom-client refuses; reset zeroes every series and keeps it', async (t) => {
  const series = new Series({}, [1, 2]);
  t.throws(() => series.observe(Number.NaN), TypeError);
  t.throws(() => series.observe(Number.POSITIVE_INFINITY), TypeError);
  t.equal(series.count, 0, 'nothing recorded');

  const set = new SeriesSet([], [1, 2]);
  const registry = new Registry();
  registerHistogram(registry, 'h', 'H', set);
  const held = set.at();
  held.observe(1.5);
  registry.resetMetrics();
  t.same([held.count, held.sum, held.buckets], [0, 0, [0, 0]]);
  held.observe(0.5);
  t.match(await registry.metrics(), /^h_bucket\{le="1"\} 1$/m, 'a series held across the reset is still exposed');
});
