/**
 * Just enough Markdown reading for the tests that keep the docs true: the
 * rows of a table found by its header, the relative links of a page, and the
 * anchors its headings get on a code host.
 */
import { readFileSync } from 'node:fs';

/** The page's lines outside fenced code blocks (a table or link inside an example is not the page's own). */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker !== undefined) {
      if (fence === null) fence = marker[0]!;
      else if (marker[0] === fence) fence = null;
      lines.push('');
      continue;
    }
    lines.push(fence === null ? line : '');
  }
  return lines;
}

/** The cells of one table row, split on unescaped pipes, trimmed. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/**
 * The rows of the one table whose header is exactly `header` (case-insensitive), each as
 * header → cell text. Fails when there is no such table, or more than one.
 */
export function markdownTable(file: string, header: readonly string[]): Record<string, string>[] {
  const lines = proseLines(readFileSync(file, 'utf8'));
  const wanted = header.map((h) => h.toLowerCase()).join('|');
  const starts = lines.flatMap((line, index) =>
    line.trim().startsWith('|') &&
    cells(line)
      .map((c) => c.toLowerCase())
      .join('|') === wanted
      ? [index]
      : [],
  );
  if (starts.length !== 1) {
    throw new Error(`${file} has ${starts.length} tables headed | ${header.join(' | ')} |, not one`);
  }
  const rows: Record<string, string>[] = [];
  for (let index = starts[0]! + 2; index < lines.length && lines[index]!.trim().startsWith('|'); index++) {
    const row = cells(lines[index]!);
    if (row.length !== header.length)
      throw new Error(`${file}:${index + 1} has ${row.length} cells, not ${header.length}`);
    rows.push(Object.fromEntries(header.map((name, i) => [name, row[i]!])));
  }
  return rows;
}

/** A cell's text as a reader sees it: no code-span backticks. */
export function plainText(cell: string): string {
  return cell.replace(/`/g, '').trim();
}

/** Every inline link and image target of a page, outside code blocks and code spans. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) targets.push(match[1]!);
  }
  return targets;
}

/** The anchors a code host gives the page's headings (GitHub's rule: lowercase, punctuation dropped, spaces to hyphens, repeats numbered). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}
