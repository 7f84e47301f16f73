/**
 * The HTTP/2 flow-control windows of the gRPC server's connections (GRPC_FLOW_CONTROL_WINDOW_BYTES): how much of a
 * request a client may send before the server acknowledges what it read. HTTP/2 starts both windows, each call's and
 * the connection's, at 64 KiB: a 256 kB tensor then waits four times for the server's WINDOW_UPDATE (a round trip
 * each) and arrives in slivers. grpc-java's servers announce 1 MiB. @grpc/grpc-js (1.14) has an option for its
 * client's windows (`grpc-node.flow_control_window`) and none for its server's, so they are set where it keeps what
 * it makes its HTTP/2 servers with: each call's window in the settings its servers announce (`announceWindow`,
 * before binding), the connection's by a WINDOW_UPDATE on each new session (`widenConnections`, once bound). A
 * grpc-js that keeps them elsewhere stops start-up here, naming what it lacks, rather than serving with 64 KiB
 * windows unseen (test/grpc/flow-control.test.ts holds the windows a client sees).
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** What grpc-js's Server keeps, in its 1.x versions, that the windows need. */
interface ServerInternals {
  /** The options its HTTP/2 servers are created with, when it binds (`http2.createServer(commonServerOptions)`). */
  commonServerOptions?: { settings?: Record<string, unknown> };
  /** Its HTTP/2 servers, once bound. */
  http2Servers?: Map<Http2Server, unknown>;
}

const internals = (server: Server) => server as unknown as ServerInternals;

function missing(what: string): never {
  throw new Error(
    `@grpc/grpc-js's Server has no ${what}: GRPC_FLOW_CONTROL_WINDOW_BYTES cannot be applied (src/grpc/flow-control.ts)`,
  );
}

/** Each call's window, announced in the SETTINGS of every connection: before `bindAsync`. */
export function announceWindow(server: Server, windowBytes: number): void {
  const options = internals(server).commonServerOptions;
  if (typeof options !== 'object' || options === null) missing('commonServerOptions');
  options.settings = { ...options.settings, initialWindowSize: windowBytes };
}

/** The connection's window, raised as each connection starts: after `bindAsync`. */
export function widenConnections(server: Server, windowBytes: number): void {
  const servers = internals(server).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) missing('bound HTTP/2 server (http2Servers)');
  for (const http2Server of servers.keys())
    http2Server.on('session', (session: ServerHttp2Session) => session.setLocalWindowSize(windowBytes));
}
