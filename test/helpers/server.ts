/**
 * The real server process (`node --import tsx src/main.ts`) on a free loopback port, for the tests of what
 * only a process has: signals, exit codes, start-up validation, several instances.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Server {
  child: ChildProcess;
  port: number;
  /** Every stdout line so far, parsed (pino JSON). */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnServer(env: Record<string, string> = {}): {
  child: ChildProcess;
  exited: Server['exited'];
  logs: Server['logs'];
  stderr: () => string;
  listening: Promise<number>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    // GRPC_PORT=0: no gRPC server unless a test asks for one (on a port of its own: 0 turns it off).
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let pending = '';
  let onListening: (port: number) => void;
  let onFailed: (error: Error) => void;
  const listening = new Promise<number>((resolve, reject) => {
    onListening = resolve;
    onFailed = reject;
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      const match = /^Server listening at http:\/\/127\.0\.0\.1:(\d+)$/.exec(String(entry.msg));
      if (match) onListening(Number(match[1]));
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      onFailed(new Error(`server exited (${code ?? signal}) before listening: ${err}`));
      resolve({ code, signal });
    });
  });
  return { child, exited, logs, stderr: () => err, listening };
}

/** Starts the server and waits until it listens; killed at teardown if still running. */
export async function startServer(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string> = {},
): Promise<Server> {
  const started = spawnServer(env);
  t.teardown(() => {
    if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
  });
  const port = await started.listening;
  return { ...started, port };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on its own connection (no keep-alive); `sent` resolves once the whole request is written. */
export function send(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): { sent: Promise<void>; answer: Promise<Answer> } {
  let markSent: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('finish', () => markSent());
    req.end(payload);
  });
  return { sent, answer };
}
