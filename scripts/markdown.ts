/** Writing the generated Markdown pages (docs/configuration.md, docs/metrics.md) as a person would. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Words joined into lines of at most `width` characters (a longer word stays whole). A line never starts with what
 * Markdown reads as a list item, quote, heading or table row (`+ Retry-After` would become a list).
 */
export function wrap(text: string, width = 118): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      const words = line.split(' ');
      let carried = word;
      while (words.length > 1 && /^([-+*>|]|#+|\d+[.)])$/.test(carried.split(' ')[0]))
        carried = `${words.pop()} ${carried}`;
      lines.push(words.join(' '));
      line = carried;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** `markdown` as Biome formats it at `file` (`npm run lint` checks docs/ too): tables aligned. */
export function formatted(markdown: string, file: string): string {
  const biome = spawnSync('node_modules/.bin/biome', ['format', `--stdin-file-path=${file}`], {
    cwd: ROOT,
    input: markdown,
    encoding: 'utf8',
  });
  if (biome.status !== 0) throw new Error(`biome format failed (${biome.status ?? biome.error}): ${biome.stderr}`);
  return biome.stdout;
}
