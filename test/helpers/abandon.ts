/** A client that goes away: for the tests of what the server does when nobody reads the answer. */
import { connect } from 'node:net';

/** Sends a POST over a raw socket and closes it after `ms`, without reading the answer. */
export function abandon(port: number, path: string, body: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      socket.write(body);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, ms);
    });
    socket.on('error', reject);
  });
}
