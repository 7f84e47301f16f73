/** Reading the deploy/ manifests in tests: every YAML document of a file, and a container's literal env. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type Manifest = any;

/** The documents of `file` under `deploy/<folder>/`; a YAML error throws, naming the file. */
export function manifests(folder: string, file: string): Manifest[] {
  const url = new URL(`../../deploy/${folder}/${file}`, import.meta.url);
  const docs = parseAllDocuments(readFileSync(url, 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
  return docs.map((doc) => doc.toJS());
}

/** A container's env as the process would see it (literal values only; secrets are not read). */
export function literalEnv(container: Manifest): Record<string, string> {
  return Object.fromEntries(
    container.env.filter((e: Manifest) => 'value' in e).map((e: Manifest) => [e.name, String(e.value)]),
  );
}
