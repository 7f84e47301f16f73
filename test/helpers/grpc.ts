/**
 * The gRPC frontend over a real loopback socket: the app built as production builds it (build.ts), its gRPC server
 * wired to its core as main.ts wires it, and a @grpc/grpc-js client made from the same .proto files, as a client
 * generated from them would be. Both are closed when the test ends.
 */
import {
  type Client,
  type ClientDuplexStream,
  Metadata,
  type ServiceError,
  credentials,
  loadPackageDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { SERVICE_NAME } from '../../src/config/config.js';
import { SERVICE_VERSION } from '../../src/http/app.js';
import { LOADER_OPTIONS, protoDirectory } from '../../src/grpc/protos.js';
import { type GrpcServer, grpcDefinitions, startGrpcServer } from '../../src/grpc/server.js';
import { type Built, type Overrides, build } from './build.js';
import { loadSync } from '@grpc/proto-loader';

export interface GrpcBuilt extends Built {
  server: GrpcServer;
  /** `127.0.0.1:<port>` */
  target: string;
  /** A client of inference.GRPCInferenceService. */
  inference: Client;
  /** A client of grpc.health.v1.Health. */
  health: Client;
  /** Calls a unary method; resolves with the response, rejects with the ServiceError (code, details, metadata). */
  unary<T = any>(client: Client, method: string, request: object, metadata?: Metadata): Promise<T>;
}

type Package = any;

let loaded: Package | undefined;
/** The served definitions as a client loads them (the same .proto files, the same reading options). */
export function clientPackage(): Package {
  loaded ??= loadPackageDefinition(grpcDefinitions().protocols.served);
  return loaded;
}

/** A client of each service at `target`, closed when the test ends. */
export function clients(t: { teardown(fn: () => unknown): void }, target: string, options: object = {}) {
  const pkg = clientPackage();
  const inference: Client = new pkg.inference.GRPCInferenceService(target, credentials.createInsecure(), options);
  const health: Client = new pkg.grpc.health.v1.Health(target, credentials.createInsecure(), options);
  t.teardown(() => {
    inference.close();
    health.close();
  });
  return { inference, health };
}

export function unary<T = any>(client: Client, method: string, request: object, metadata = new Metadata()): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    (client as any)[method](request, metadata, (error: ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Metadata with these entries. */
export function metadataOf(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

export async function buildGrpc(
  t: { teardown(fn: () => unknown): void },
  overrides: Overrides = {},
  clientOptions: object = {},
): Promise<GrpcBuilt> {
  grpcDefinitions(); // before the app, as main.ts does
  // No shedding on event-loop delay: this process is client and server at once, and in a busy suite its loop is
  // held past the threshold by the client's work as much as by the server's.
  const built = await build(t, { ...overrides, overload: { maxEventLoopDelayMs: 0, ...overrides.overload } });
  const { app, config } = built;
  const server = await startGrpcServer({ ...config.grpc, port: 0 }, '127.0.0.1', {
    core: app.core,
    repository: app.repository,
    readiness: app.readiness,
    registry: app.metrics.registry,
    logger: app.log as Logger,
    apiKeys: config.access.apiKeys,
    serverName: SERVICE_NAME,
    serverVersion: SERVICE_VERSION,
  });
  // As main.ts does: closed with the app, before its core's pool and stores (here at once, cancelling what is open).
  app.frontends.add(() => server.close(0));
  const target = `127.0.0.1:${server.port}`;
  return { ...built, server, target, ...clients(t, target, clientOptions), unary };
}

/** A ModelStreamInfer stream on `client`, its answers collected. */
export function openStream(client: Client, metadata = new Metadata()) {
  const stream: ClientDuplexStream<object, any> = (client as any).ModelStreamInfer(metadata);
  const answers: any[] = [];
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    stream.on('data', (answer) => answers.push(answer));
    stream.on('status', (status) => resolve(status));
    stream.on('error', () => {});
  });
  return { stream, answers, ended };
}

/** KServe's definitions, read as a client of KServe's own .proto would read them. */
export function kservePackage(): Package {
  return loadPackageDefinition(
    loadSync('kserve/open_inference_grpc.proto', { ...LOADER_OPTIONS, includeDirs: [protoDirectory()] }),
  );
}

/** little-endian float32 bytes of `values` */
export const float32Bytes = (values: readonly number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

/** float32 values of little-endian bytes */
export const float32Values = (bytes: Uint8Array): number[] =>
  Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
