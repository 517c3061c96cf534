import type { Block } from './block.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const inline = (s: string) => esc(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
const cell = (x: string | number) => String(x).replace(/\|/g, '\\|');

export function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if ('h' in b) out.push(`${'#'.repeat(b.level ?? 2)} ${b.h}`);
    else if ('p' in b) out.push(b.p);
    else if ('list' in b) out.push(b.list.map((l) => `- ${l}`).join('\n'));
    else if ('table' in b)
      out.push(
        [
          `| ${b.table.head.map(cell).join(' | ')} |`,
          `|${b.table.head.map(() => '---').join('|')}|`,
          ...b.table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
        ].join('\n'),
      );
    else if ('chart' in b && b.chart) out.push(`_Chart: ${b.caption} — see report.html._`);
  }
  return `${out.join('\n\n')}\n`;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}figcaption{color:#666;font-size:12px}
h2{border-bottom:2px solid #333}h3{margin-top:2em;border-bottom:1px solid #ccc}`;

export function toHtml(blocks: Block[], title: string): string {
  const out: string[] = [];
  for (const b of blocks) {
    if ('h' in b) out.push(`<h${b.level ?? 2}>${esc(b.h)}</h${b.level ?? 2}>`);
    else if ('p' in b) out.push(`<p>${inline(b.p)}</p>`);
    else if ('list' in b) out.push(`<ul>${b.list.map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`);
    else if ('table' in b)
      out.push(
        `<table><thead><tr>${b.table.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${b.table.rows
          .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      );
    else if ('chart' in b && b.chart) out.push(`<figure>${b.chart}<figcaption>${esc(b.caption)}</figcaption></figure>`);
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>${out.join('\n')}</body></html>\n`;
}
