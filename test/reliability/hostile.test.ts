/**
 * A short run of the hostile mix (scripts/hostile.ts; `npm run load -- --hostile` for the full one): the hello
 * request keeps coming while the worst requests within the default limits arrive, against the real server
 * process with the Deployment's environment (memory budget of a 1 GiB pod, one worker thread). Asserts what must
 * hold (no 5xx, every worst case answered with its expected status, the server below the Deployment's 1 GiB),
 * never how fast: the machine running the tests may be loaded.
 */
import t from 'tap';
import { deploymentEnv, formatHostileReport, runHostile } from '../../scripts/hostile.js';

t.test('the hostile mix: no 5xx, each worst case answered as expected, peak RSS below 1 GiB', async (t) => {
  const { memoryLimitBytes } = deploymentEnv();
  t.equal(memoryLimitBytes, 2 ** 30, "the Deployment's memory limit is 1 GiB");
  const report = await runHostile({
    seconds: 5,
    smallConnections: 2,
    baselineSeconds: 0,
    alone: false,
    nonReaders: 1,
    maxClientsPerKind: 1,
    // What is still running 8 s after the mix is given up: the run stays bounded on a slow machine.
    drainSeconds: 8,
    // The server from the sources (the tests do not build dist/), as test/helpers/server.ts starts it.
    serverArgs: ['--import', 'tsx', 'src/main.ts'],
  });
  const limits = { maxSmallP99Ms: Number.POSITIVE_INFINITY, maxPeakRssMb: memoryLimitBytes / 2 ** 20 };
  t.comment(formatHostileReport(report, limits));

  t.equal(report.serverErrors, 0, 'no 5xx but the expected 503s (with Retry-After)');
  t.equal(report.small.socketErrors + report.small.timeouts, 0, 'no socket errors on the small requests');
  t.ok(report.small.requests > 0, `${report.small.requests} small requests answered`);
  t.equal(report.small.non200, 0, 'every small request answered 200');
  t.ok(report.peakRssMb < limits.maxPeakRssMb, `peak RSS ${report.peakRssMb} MiB < 1 GiB`);
  t.equal(report.healthzAfter, 200, 'live afterwards');
  for (const [name, kind] of Object.entries(report.kinds)) {
    t.equal(kind.unexpected, 0, `${name}: only ${kind.expected.join('/')} (${JSON.stringify(kind.byStatus)})`);
    t.equal(kind.socketErrors, 0, `${name}: no socket errors${kind.errorSample ? ` (${kind.errorSample})` : ''}`);
    // The slowest kinds wait for the one worker behind the others: answered, or still waiting when given up.
    t.ok(kind.requests + kind.abandoned > 0, `${name}: sent (${kind.requests} answered, ${kind.abandoned} given up)`);
  }
  t.equal(report.exit?.code, 0, 'the server stopped cleanly');
  t.same(report.errorLogs, [], 'nothing logged at error level (no stack overflow, no worker failure)');
});
