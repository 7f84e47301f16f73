/**
 * openapi.ts tidies the generated OpenAPI document. Held to operation ids from method and path, and, on a bare
 * Fastify app with zod schemas: only the components the paths reach kept, a request-side `XInput` renamed `X` when
 * no `X` exists (references renamed with it), and ids added where a route has none while one given is kept.
 */
import fastifySwagger from '@fastify/swagger';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import t from 'tap';
import { z } from 'zod';
import { operationIdOf, tidyOpenApi } from '../../src/http/openapi.js';

t.test('operation ids from the method and the path', async (t) => {
  t.equal(operationIdOf('post', '/models/{name}/forward'), 'postModelsNameForward');
  t.equal(operationIdOf('get', '/'), 'getRoot');
  t.equal(operationIdOf('get', '/v2/models/{name}/versions/{version}/ready'), 'getV2ModelsNameVersionsVersionReady');
  t.equal(operationIdOf('post', '/rnn/forward'), 'postRnnForward');
});

t.test('the document: reachable components only, plain names, operation ids', async (t) => {
  const Inner = z.object({ units: z.number().default(1) }).meta({ id: 'Inner' });
  const Body = z.object({ inner: Inner, name: z.string() }).meta({ id: 'Body' });
  const Unused = z.object({ x: z.number() }).meta({ id: 'Unused' });
  const app = Fastify();
  t.teardown(() => app.close());
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: { info: { title: 't', version: '1' } },
    transform: jsonSchemaTransform,
    transformObject: tidyOpenApi,
  });
  app.post('/things/:id', { schema: { body: Body, response: { 200: z.object({ ok: z.boolean() }) } } }, async () => ({
    ok: true,
  }));
  app.get('/named', { schema: { operationId: 'mine', response: { 200: z.string() } } }, async () => 'x');
  void Unused;
  await app.ready();
  const document = app.swagger() as any;
  const schemas = Object.keys(document.components.schemas).sort();
  t.notOk(schemas.includes('Unused'), 'a component no path reaches is dropped');
  t.notOk(schemas.some((name: string) => name.endsWith('Input') && schemas.includes(name.slice(0, -5))));
  t.same(schemas, ['Body', 'Inner'], 'BodyInput and InnerInput, the request side, under their plain names');
  const body = document.paths['/things/{id}'].post.requestBody.content['application/json'].schema;
  t.same(body, { $ref: '#/components/schemas/Body' }, 'the reference renamed with it');
  t.equal(document.paths['/things/{id}'].post.operationId, 'postThingsId');
  t.equal(document.paths['/named'].get.operationId, 'mine', 'one given is kept');
});
