import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import type { ResultsFile } from '../results/index.js';
import { buildDocument } from './document.js';
import { toHtml, toMarkdown } from './render.js';

/** report.md and one self-contained report.html (inline SVG charts, no scripts, no network). */
export async function writeReports(dir: string, results: ResultsFile): Promise<{ md: string; html: string }> {
  const blocks = buildDocument(results);
  const md = join(dir, 'report.md');
  const html = join(dir, 'report.html');
  await writeFileAtomic(md, toMarkdown(blocks));
  await writeFileAtomic(html, toHtml(blocks, `mlbench ${results.runId}`));
  return { md, html };
}
