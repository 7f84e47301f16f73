/**
 * An OTLP/HTTP trace receiver in the test process, as an OpenTelemetry Collector's `otlphttp` receiver answers: POST
 * /v1/traces with `application/x-protobuf` (decoded with protobufjs from the specification's own .proto files,
 * proto/opentelemetry/) or `application/json` (OTLP/JSON: ids as hex), gzip allowed; 200 with an empty
 * ExportTraceServiceResponse. Every span received is kept, flattened, for the tests to assert on.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const PROTO_ROOT = fileURLToPath(new URL('../../proto/opentelemetry/', import.meta.url));
const SERVICE = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';

let requestType: protobuf.Type | null = null;

/** ExportTraceServiceRequest, loaded once from the .proto files (imports resolved under proto/opentelemetry/). */
function exportRequest(): protobuf.Type {
  if (requestType === null) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => `${PROTO_ROOT}${target}`;
    root.loadSync(SERVICE, { keepCase: false });
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  }
  return requestType;
}

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server. */
  kind: number;
  startNanos: bigint;
  endNanos: bigint;
  attributes: Record<string, AttributeValue>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  links: { traceId: string; spanId: string }[];
  /** The resource's attributes (service.name, …). */
  resource: Record<string, AttributeValue>;
  /** The trace state it carries (W3C tracestate). */
  traceState: string;
}

export interface Export {
  contentType: string;
  encoding: string | undefined;
  headers: IncomingMessage['headers'];
  spans: ReceivedSpan[];
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string | { toString(): string };
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}

function decodeValue(value: AnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(String(value.intValue));
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue);
  return null;
}

function attributesOf(list: { key: string; value?: AnyValue }[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) out[key] = decodeValue(value);
  return out;
}

/** Ids: bytes in protobuf (as decoded: Uint8Array), hex strings in OTLP/JSON. */
const hex = (id: Uint8Array | string | undefined): string =>
  id === undefined ? '' : typeof id === 'string' ? id.toLowerCase() : Buffer.from(id).toString('hex');

type Id = Uint8Array | string;
type KeyValues = { key: string; value?: AnyValue }[];

/** ExportTraceServiceRequest as protobufjs' toObject (longs as strings) or OTLP/JSON gives it. */
interface DecodedRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValues };
    scopeSpans?: {
      spans?: {
        traceId?: Id;
        spanId?: Id;
        parentSpanId?: Id;
        name: string;
        kind?: number | string;
        startTimeUnixNano?: string | number;
        endTimeUnixNano?: string | number;
        attributes?: KeyValues;
        status?: { code?: number | string; message?: string };
        links?: { traceId: Id; spanId: Id }[];
        traceState?: string;
      }[];
    }[];
  }[];
}

const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
/** An enum as a number, whether it came as its number or its name. */
const enumValue = (value: number | string | undefined, names: Record<string, number>): number =>
  typeof value === 'string' ? (names[value] ?? Number(value)) : Number(value ?? 0);

function flatten(message: DecodedRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of message.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? [])
      for (const span of scopeSpans.spans ?? [])
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: enumValue(span.kind, KINDS),
          startNanos: BigInt(String(span.startTimeUnixNano ?? 0)),
          endNanos: BigInt(String(span.endTimeUnixNano ?? 0)),
          attributes: attributesOf(span.attributes),
          status: { code: enumValue(span.status?.code, STATUS_CODES), message: span.status?.message ?? '' },
          links: (span.links ?? []).map((link) => ({ traceId: hex(link.traceId), spanId: hex(link.spanId) })),
          resource,
          traceState: span.traceState ?? '',
        });
  }
  return spans;
}

export class OtlpReceiver {
  readonly exports: Export[] = [];
  /** Answer every export with this status instead of 200 (a receiver that is down or refusing). */
  failWith: number | null = null;
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | null = null;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => (receiver as OtlpReceiver).#receive(request, Buffer.concat(chunks), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    receiver = new OtlpReceiver(server, `http://127.0.0.1:${address.port}`);
    return receiver;
  }

  #receive(request: IncomingMessage, raw: Buffer, response: import('node:http').ServerResponse): void {
    if (request.method !== 'POST' || request.url !== '/v1/traces') {
      response.writeHead(404).end();
      return;
    }
    if (this.failWith !== null) {
      response.writeHead(this.failWith).end();
      return;
    }
    const encoding = request.headers['content-encoding'];
    const body = encoding === 'gzip' ? gunzipSync(raw) : raw;
    const contentType = String(request.headers['content-type'] ?? '');
    let spans: ReceivedSpan[];
    if (contentType.startsWith('application/json')) {
      spans = flatten(JSON.parse(body.toString('utf8')) as DecodedRequest);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } else {
      const type = exportRequest();
      spans = flatten(type.toObject(type.decode(body), { longs: String }) as DecodedRequest);
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    }
    this.exports.push({ contentType, encoding, headers: request.headers, spans });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.spans.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Every span received so far. */
  get spans(): ReceivedSpan[] {
    return this.exports.flatMap((e) => e.spans);
  }

  /** Resolves once `count` spans have arrived in all. */
  received(count: number): Promise<void> {
    if (this.spans.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
