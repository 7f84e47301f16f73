/**
 * Server reflection over a real socket, as grpcurl uses it: a reflection client (v1 and v1alpha) lists the
 * services, fetches the file descriptors of the inference service, and a client built from those descriptors
 * alone, without the .proto files, calls ServerMetadata and ModelInfer.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t from 'tap';
import { type Client, credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { buildGrpc, float32Bytes, float32Values, metadataOf, unary } from '../helpers/grpc.js';

/** The reflection .proto files @grpc/reflection ships (the grpc/grpc-proto ones). */
const reflectionProtos = join(
  dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
  'build/proto',
);

function reflectionClient(t: { teardown(fn: () => unknown): void }, target: string, version: 'v1' | 'v1alpha'): Client {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [reflectionProtos],
    keepCase: true,
    oneofs: true,
  });
  const service = (loadPackageDefinition(definition) as any).grpc.reflection[version].ServerReflection;
  const client: Client = new service(target, credentials.createInsecure());
  t.teardown(() => client.close());
  return client;
}

/** One request on a ServerReflectionInfo stream, its one answer. */
function ask(client: Client, request: object, metadata = metadataOf({})): Promise<any> {
  return new Promise((resolve, reject) => {
    const stream = (client as any).ServerReflectionInfo(metadata);
    stream.on('data', (answer: unknown) => {
      resolve(answer);
      stream.end();
    });
    stream.on('error', reject);
    stream.write(request);
  });
}

/** FileDescriptorProtos → a serialized FileDescriptorSet (`repeated FileDescriptorProto file = 1`). */
function descriptorSet(files: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const length: number[] = [];
    for (let n = file.length; ; n >>>= 7) {
      if (n < 0x80) {
        length.push(n);
        break;
      }
      length.push((n & 0x7f) | 0x80);
    }
    parts.push(Buffer.from([0x0a, ...length]), file);
  }
  return Buffer.concat(parts);
}

for (const version of ['v1', 'v1alpha'] as const) {
  t.test(`reflection ${version}: the services are listed, and described well enough to call them`, async (t) => {
    const KEY = 'reflection-key-0123456789';
    const g = await buildGrpc(t, { models: { dir: SHIPPED_MODELS }, access: { apiKeys: [KEY] } });
    const reflection = reflectionClient(t, g.target, version);
    const listed = await ask(reflection, { list_services: '*' });
    const names = listed.list_services_response.service.map((s: { name: string }) => s.name);
    t.ok(names.includes('inference.GRPCInferenceService'), 'the inference service');
    t.ok(names.includes('grpc.health.v1.Health'), 'the health service');

    const described = await ask(reflection, { file_containing_symbol: 'inference.GRPCInferenceService' });
    const files: Buffer[] = described.file_descriptor_response.file_descriptor_proto;
    t.ok(files.length >= 1);
    const definition = loadFileDescriptorSetFromBuffer(descriptorSet(files), { keepCase: true, longs: String });
    const Service = (loadPackageDefinition(definition) as any).inference.GRPCInferenceService;
    t.ok(Service, 'the service, from the descriptors alone');
    const client: Client = new Service(g.target, credentials.createInsecure());
    t.teardown(() => client.close());
    const auth = metadataOf({ authorization: `Bearer ${KEY}` });
    t.same(
      await unary(client, 'ServerMetadata', {}, auth),
      (await g.app.inject({ method: 'GET', url: '/v2', headers: { authorization: `Bearer ${KEY}` } })).json(),
    );
    const answer = await unary(
      client,
      'ModelInfer',
      {
        model_name: 'hello',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 1, 4] }],
        raw_input_contents: [float32Bytes([1, 0, 0, 0])],
      },
      auth,
    );
    t.equal(float32Values(answer.raw_output_contents[1]).length, 3, 'ModelInfer answers');
    t.notOk(
      g.logs.some((l) => String(l.rpc).startsWith('/grpc.reflection') && l.code !== 'OK'),
      'reflection needs no key',
    );
  });
}
