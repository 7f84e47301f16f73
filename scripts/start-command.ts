/**
 * How the service is started, read from the one place that says it: package.json's `start` script
 * (`node <flags> dist/src/main.js`). The Dockerfile's CMD must run the same (test/ops/production.test.ts holds
 * them equal), and the HTTP benchmark starts the service and its peer with the same flags.
 */
import { readFileSync } from 'node:fs';

export const SERVICE_ENTRY = 'dist/src/main.js';

/** The Node options of a `node <flags> dist/src/main.js` command line; throws on any other command. */
export function nodeFlagsOf(command: string): string[] {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== SERVICE_ENTRY || words.length < 2) {
    throw new Error(`expected "node [flags] ${SERVICE_ENTRY}", got "${command}"`);
  }
  const flags = words.slice(1, -1);
  const bad = flags.find((flag) => !flag.startsWith('--'));
  if (bad !== undefined) throw new Error(`"${bad}" in "${command}" is not a Node option`);
  return flags;
}

/** The Node options `npm start` gives the service (package.json in `root`). */
export function serviceNodeFlags(root = '.'): string[] {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts?: { start?: string } };
  if (pkg.scripts?.start === undefined) throw new Error('package.json has no start script');
  return nodeFlagsOf(pkg.scripts.start);
}
