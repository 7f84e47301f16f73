/**
 * A short run of the load test (scripts/load.ts, `npm run load` for the full one): concurrent small valid,
 * invalid and large requests against an in-process server. Asserts what must hold under load (no 5xx, no
 * socket errors, no error logs, each kind answered as it is alone), never how fast.
 */
import t from 'tap';
import { checkLoopback, formatReport, runLoad } from '../../scripts/load.js';

t.test('a short load run: no 5xx, no socket errors, every kind answered as expected', async (t) => {
  // Inline compute (no worker threads): starting workers under tap's loaders can take longer than the run.
  const report = await runLoad({ seconds: 5, connections: 12, warmUpSeconds: 1, pool: { threads: 0 } });
  t.comment(formatReport(report));
  t.ok(report.requests > 0, `${report.requests} requests answered`);
  t.equal(report.serverErrors, 0, 'no 5xx');
  t.equal(report.socketErrors, 0, 'no socket errors or timeouts');
  t.equal(report.errorLogs, 0, 'nothing logged at error level');
  const only = (kind: string, allowed: string[]) =>
    t.same(
      Object.keys(report.kinds[kind].byStatus).filter((status) => !allowed.includes(status)),
      [],
      `${kind}: only ${allowed.join(', ')}`,
    );
  only('small', ['200']);
  only('large', ['200']);
  only('invalid', ['400', '415', '422']);
  t.ok(
    report.kinds.small.requests > 0 && report.kinds.invalid.requests > 0,
    'small and invalid requests were answered',
  );
});

t.test('LOAD_URL must be loopback', async (t) => {
  t.equal(checkLoopback('http://127.0.0.1:8080').port, '8080');
  for (const url of ['http://example.com', 'http://10.0.0.1:8080', 'https://127.0.0.1:8080', 'http://localhost:8080']) {
    t.throws(() => checkLoopback(url), /127\.0\.0\.1/, url);
  }
});
