/**
 * The docs hold together: every relative link of every markdown file reaches a file, and every #anchor a heading of
 * it (GitHub's slugs); every markdown path the code's comments cite resolves the same way; the README stays short;
 * and every page of docs/ is on the map, docs/README.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import t from 'tap';
import { anchorsOf, githubSlug, isExternal, linksOf, markdownFiles, ROOT, renderedText } from '../helpers/markdown.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const anchorCache = new Map<string, Set<string>>();
const anchors = (file: string) => {
  if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(read(file)));
  return anchorCache.get(file)!;
};
const toRepoPath = (absolute: string) => relative(ROOT, absolute).split(sep).join('/');

/** Why a link from `from` (repo-relative) to `target` does not resolve, or null when it does. */
function brokenLink(from: string, target: string): string | null {
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  if (path.startsWith('/')) return `'${target}' is absolute; links are relative to the file`;
  const file = path === '' ? from : toRepoPath(normalize(join(ROOT, dirname(from), path)));
  if (file.startsWith('..')) return `'${target}' leaves the repository`;
  if (!existsSync(join(ROOT, file))) return `'${target}': ${file} does not exist`;
  if (anchor === null) return null;
  if (!file.endsWith('.md') || statSync(join(ROOT, file)).isDirectory())
    return `'${target}': an anchor into ${file}, which is not a markdown file`;
  return anchors(file).has(anchor) ? null : `'${target}': ${file} has no heading with the anchor #${anchor}`;
}

const files = markdownFiles();

t.test('the markdown files', async (t) => {
  for (const expected of ['README.md', 'CHANGELOG.md', 'docs/README.md']) t.ok(files.includes(expected), expected);
  for (const moved of ['BENCHMARKS', 'RELIABILITY'])
    t.notOk(files.includes(`${moved}.md`), `${moved} moved into docs/`);
});

for (const file of files) {
  t.test(`links in ${file}`, async (t) => {
    const links = linksOf(read(file)).filter((link) => !isExternal(link.target));
    for (const link of links) t.equal(brokenLink(file, link.target), null, `${file}:${link.line} → ${link.target}`);
    if (links.length === 0) t.pass(`${file} has no relative links`);
  });
}

/** Folders and files whose comments may cite the docs (fixtures are data; test/docs holds sample markdown). */
const CODE = ['src', 'schemas', 'test', 'bench', 'scripts', 'deploy', '.ci'];
const CODE_FILES = ['Dockerfile', 'package.json', '.dependency-cruiser.cjs', 'biome.jsonc'];
function codeFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (path === 'test/fixtures' || path === 'test/docs' || entry.name === 'node_modules') continue;
    if (entry.isDirectory()) found.push(...codeFiles(path));
    else if (/\.(ts|js|cjs|mjs|json|jsonc|ya?ml|sh|py|html|css)$|^run$/.test(entry.name)) found.push(path);
  }
  return found;
}

/**
 * A markdown path as the code cites it, from the repository's root: `docs/performance.md#where-the-time-goes`, or
 * the file, a comma and a heading's text in double quotes; the bare word README with a heading too.
 */
const CITATION = /(?<![\w./-])((?:[\w-]+\/)*[\w.-]*\w\.md|README)(#[\w-]+)?(?:,\s*"([^"\n]+)")?/g;

t.test('markdown paths cited in the code resolve, anchors and headings included', async (t) => {
  let cited = 0;
  for (const file of [...CODE.flatMap(codeFiles), ...CODE_FILES]) {
    const text = read(file);
    for (const m of text.matchAll(CITATION)) {
      const [, path, anchor, heading] = m;
      if (path === 'README' && heading === undefined) continue; // the word, not a citation
      const target = path === 'README' ? 'README.md' : path;
      const line = text.slice(0, m.index).split('\n').length;
      const where = `${file}:${line} cites ${m[0]}`;
      cited++;
      if (!existsSync(join(ROOT, target))) {
        t.fail(`${where}: there is no ${target}`);
        continue;
      }
      if (anchor !== undefined) t.ok(anchors(target).has(anchor.slice(1)), `${where}: ${target} has the anchor`);
      else if (heading !== undefined)
        t.ok(anchors(target).has(githubSlug(renderedText(heading))), `${where}: ${target} has that heading`);
      else t.pass(where);
    }
  }
  t.ok(cited > 0, `${cited} citations`);
});

t.test('the README is short: at most 200 lines', async (t) => {
  const lines = read('README.md').replace(/\n$/, '').split('\n').length;
  t.ok(lines <= 200, `README.md has ${lines} lines`);
});

t.test('every page of docs/ is on the map (docs/README.md), and the README links the map', async (t) => {
  const onMap = new Set(
    linksOf(read('docs/README.md'))
      .filter((link) => !isExternal(link.target))
      .map((link) => toRepoPath(normalize(join(ROOT, 'docs', link.target.split('#')[0])))),
  );
  for (const page of files.filter((file) => file.startsWith('docs/') && file !== 'docs/README.md'))
    t.ok(onMap.has(page), `${page} is on the map`);
  t.ok(
    linksOf(read('README.md')).some((link) => link.target.startsWith('docs/README.md') || link.target === 'docs/'),
    'README.md links docs/README.md',
  );
});
