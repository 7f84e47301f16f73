/**
 * The served .proto files (proto/): Triton's grpc_service.proto agrees with KServe's open_inference_grpc.proto
 * field for field in every message and RPC the two share, with the one difference protos.ts answers for
 * (KServe's ModelMetadataResponse.properties); they are found from the sources; the health service is gRPC's
 * standard one.
 */
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_SERVICE, INFERENCE_SERVICE, loadProtocols, protoDirectory } from '../../src/grpc/protos.js';

const dir = protoDirectory();
const options = { keepCase: true, includeDirs: [`${dir}triton`, dir] };
const triton = loadSync('grpc_service.proto', options);
const kserve = loadSync('kserve/open_inference_grpc.proto', options);

interface Field {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
  oneofIndex: number;
}
interface Descriptor {
  name: string;
  field: Field[];
  nestedType: Descriptor[];
  oneofDecl: { name: string }[];
}

/** A message's fields and nested messages as `Message.field: number label type typeName [oneof]` lines. */
function describe(message: Descriptor, prefix = message.name): string[] {
  const oneof = (f: Field) => (message.oneofDecl.length > 0 ? ` oneof ${message.oneofDecl[f.oneofIndex]?.name}` : '');
  return [
    ...message.field.map((f) => `${prefix}.${f.name}: ${f.number} ${f.label} ${f.type} ${f.typeName}${oneof(f)}`),
    ...message.nestedType.flatMap((nested) => describe(nested, `${prefix}.${nested.name}`)),
  ];
}

const messageOf = (definition: typeof triton, name: string) =>
  (definition[name] as unknown as { type: Descriptor } | undefined)?.type;

t.test("every message KServe defines is Triton's, field for field, but ModelMetadataResponse.properties", async (t) => {
  const names = Object.keys(kserve).filter((name) => name !== INFERENCE_SERVICE);
  t.ok(names.length >= 14, `${names.length} messages`);
  for (const name of names) {
    const ours = messageOf(triton, name);
    t.ok(ours, `Triton defines ${name}`);
    if (ours === undefined) continue;
    const theirs = describe(messageOf(kserve, name) as Descriptor);
    const tritons = describe(ours);
    const missing = theirs.filter((line) => !tritons.includes(line));
    if (name === 'inference.ModelMetadataResponse') {
      t.same(missing, [
        'ModelMetadataResponse.properties: 6 LABEL_REPEATED TYPE_MESSAGE Properties',
        'ModelMetadataResponse.Properties.key: 1 LABEL_OPTIONAL TYPE_STRING ',
        'ModelMetadataResponse.Properties.value: 2 LABEL_OPTIONAL TYPE_STRING ',
      ]);
      t.notOk(
        tritons.some((line) => / 6 /.test(line.split(':')[1]) && line.startsWith('ModelMetadataResponse.')),
        'Triton uses no field 6 there: the two never disagree on what it is',
      );
    } else t.same(missing, [], name);
  }
});

t.test("every RPC KServe defines is Triton's, with the same messages and streaming", async (t) => {
  const service = (definition: typeof triton) =>
    definition[INFERENCE_SERVICE] as unknown as Record<
      string,
      {
        path: string;
        requestStream: boolean;
        responseStream: boolean;
        requestType: { type: { name: string } };
        responseType: { type: { name: string } };
      }
    >;
  const rpc = (m: ReturnType<typeof service>[string]) =>
    `${m.path} ${m.requestStream} ${m.responseStream} ${m.requestType.type.name} ${m.responseType.type.name}`;
  const ours = service(triton);
  for (const [name, method] of Object.entries(service(kserve))) t.equal(rpc(ours[name]), rpc(method), name);
  t.ok(ours.ModelStreamInfer.requestStream && ours.ModelStreamInfer.responseStream, 'Triton adds ModelStreamInfer');
});

t.test('the files are found from the sources, with their licences, and hold what is served', async (t) => {
  for (const file of [
    'triton/grpc_service.proto',
    'triton/model_config.proto',
    'triton/LICENSE',
    'kserve/open_inference_grpc.proto',
    'kserve/LICENSE',
    'grpc/health/v1/health.proto',
    'grpc/LICENSE',
  ])
    t.ok(existsSync(`${dir}${file}`), file);
  t.match(readFileSync(`${dir}triton/grpc_service.proto`, 'utf8'), /Redistribution and use in source and binary forms/);
  const { served } = loadProtocols();
  t.ok(served[INFERENCE_SERVICE], INFERENCE_SERVICE);
  const health = served[HEALTH_SERVICE] as unknown as Record<string, { responseStream: boolean }>;
  t.same(Object.keys(health).sort(), ['Check', 'Watch'], "gRPC's standard health service");
  t.equal(health.Watch.responseStream, true);
});
