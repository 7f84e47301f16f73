// The curl command of a request the page sends: the body exactly as sent (JSON.stringify of the same object), in
// single quotes for a POSIX shell.

export const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `curl -s <origin><path> -H 'content-type: application/json' -d '<body>'`. */
export function curlCommand(origin, path, body) {
  return `curl -s ${origin}${path} -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(body))}`;
}
