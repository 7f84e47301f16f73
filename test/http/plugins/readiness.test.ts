/**
 * readiness.ts: starting until the warm-up, ready after, draining from shutdown on. Held to the state machine (a
 * draining server never becomes ready again) and, on a bare app, to `Connection: close` on every answer while
 * draining, and only then.
 */
import t from 'tap';
import readiness, { Readiness } from '../../../src/http/plugins/readiness.js';
import { bareApp } from '../../helpers/bare-app.js';

t.test('starting, ready, draining', async (t) => {
  const state = new Readiness();
  t.same([state.state, state.ready], ['starting', false]);
  state.markReady();
  t.same([state.state, state.ready], ['ready', true]);
  state.drain();
  t.same([state.state, state.ready], ['draining', false]);
  state.markReady();
  t.equal(state.state, 'draining', 'a draining server stays draining');
  const early = new Readiness();
  early.drain();
  early.markReady();
  t.equal(early.state, 'draining', 'even when the warm-up finishes after shutdown began');
});

t.test('Connection: close while draining', async (t) => {
  const app = await bareApp(t, readiness, {});
  t.equal(app.readiness.state, 'starting');
  app.readiness.markReady();
  t.not((await app.inject({ url: '/healthz' })).headers.connection, 'close');
  app.readiness.drain();
  const draining = await app.inject({ method: 'POST', url: '/rnn/forward' });
  t.equal(draining.statusCode, 200, 'still answered');
  t.equal(draining.headers.connection, 'close');
  t.equal((await app.inject({ url: '/nowhere' })).headers.connection, 'close', 'a 404 too');
});
