/**
 * The project's markdown read the way GitHub renders it, for the docs tests: which files there are, their fenced
 * code blocks, their headings' anchors (GitHub's slugs) and their links.
 */
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Folders that hold no documentation of ours: installed, built, generated or scratch. */
const NOT_DOCS = new Set(['node_modules', '.git', 'dist', '.tap', 'coverage', 'tmp']);

/** Every .md file of the repository, repo-relative with `/`, sorted. */
export function markdownFiles(dir = ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (NOT_DOCS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...markdownFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.md')) found.push(relative(ROOT, path).split(sep).join('/'));
  }
  return found.sort();
}

/** A fenced code block: its info string (`sh`, `json`, ...), its lines, and where it is (0-based line indexes). */
export interface Fence {
  info: string;
  /** The opening fence's line. */
  start: number;
  /** The closing fence's line (the last line of the file when unclosed). */
  end: number;
  lines: string[];
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;

export function fencesOf(lines: readonly string[]): Fence[] {
  const fences: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (open === null) continue;
    const marker = open[1];
    let end = i + 1;
    while (end < lines.length) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[end]);
      if (close !== null && close[1][0] === marker[0] && close[1].length >= marker.length) break;
      end++;
    }
    fences.push({ info: open[2], start: i, end: Math.min(end, lines.length - 1), lines: lines.slice(i + 1, end) });
    i = end;
  }
  return fences;
}

/** The file's lines with every fenced block's lines blanked, so that code is never read as prose. */
export function proseLines(lines: readonly string[]): string[] {
  const prose = [...lines];
  for (const fence of fencesOf(lines)) for (let i = fence.start; i <= fence.end; i++) prose[i] = '';
  return prose;
}

/** A heading's text as GitHub renders it: code spans, links, emphasis and HTML reduced to their text. */
export function renderedText(heading: string): string {
  return heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/\*+/g, '')
    .trim();
}

/**
 * GitHub's anchor for a heading's rendered text: lowercase, every character that is not a letter, mark, number,
 * connector (`_`), space or hyphen dropped, then each space a hyphen. Repeats are told apart by the caller.
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a markdown text: its headings' slugs (a repeat gets `-1`, `-2`, ...), and `<a id|name>`. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text.split('\n'))) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading !== null) {
      const slug = githubSlug(renderedText(heading[1]));
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const html of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(html[1]);
  }
  return anchors;
}

export interface Link {
  target: string;
  /** 1-based, as editors show it. */
  line: number;
}

/** Inline links and images, reference definitions and HTML hrefs, outside code blocks and code spans. */
export function linksOf(text: string): Link[] {
  // One string, so that a link whose text wraps onto the next line is still found; code spans blanked.
  const prose = proseLines(text.split('\n'))
    .join('\n')
    .replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
  const lineAt = (offset: number) => prose.slice(0, offset).split('\n').length;
  const patterns = [
    /\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g,
    // a definition cannot interrupt a paragraph: it follows a blank line or opens the file
    /(?:^|\n[ \t]*\n)[ \t]{0,3}\[[^\]\n]+\]:[ \t]*<?([^\s>]+)>?/g,
    /\bhref="([^"]*)"/g,
  ];
  const links: Link[] = [];
  for (const pattern of patterns) {
    for (const m of prose.matchAll(pattern)) {
      links.push({ target: m[1], line: lineAt((m.index ?? 0) + m[0].indexOf('[')) });
    }
  }
  return links.sort((a, b) => a.line - b.line);
}

/** Whether a link leaves the repository (a scheme such as `https:` or `mailto:`, or `//host`). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}
