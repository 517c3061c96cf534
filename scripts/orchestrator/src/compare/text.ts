import type { Comparison, ComparisonRow, SideInfo } from './compare.js';

export const sideText = (s: SideInfo) =>
  s.runIds.length === 1 ? s.runIds[0]! : `${s.name} (${s.runIds.length} runs: ${s.runIds.join(', ')})`;

const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3));
const pct = (x: number | null) => (x === null ? '–' : `${x > 0 ? '+' : ''}${x.toFixed(1)} %`);
const ci = (r: ComparisonRow) => (r.changeCi ? `[${pct(r.changeCi.lo)}, ${pct(r.changeCi.hi)}]` : '–');
const mark = (r: ComparisonRow) =>
  r.verdict === 'regressed' ? 'REGRESSED' : r.verdict === 'improved' ? 'improved' : r.verdict;

/** The terminal's view: a Markdown table, the test per figure, what differs, the caveats. */
export function comparisonText(c: Comparison): string {
  const lines = [
    `compare A ${sideText(c.a)} → B ${sideText(c.b)}: ${c.regressed} regressed, ${c.improved} improved, ${c.rows.length - c.regressed - c.improved} not changed or not tested`,
  ];
  if (c.forced) lines.push(`--force: comparing although ${c.differences.blocking.join('; ')}`);
  if (c.differences.notes.length) lines.push(`differs (allowed): ${c.differences.notes.join('; ')}`);
  lines.push(
    '',
    `| configuration | figure | A | B | change | ${Math.round(c.level * 100)} % CI of change | verdict | why |`,
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of c.rows)
    lines.push(
      `| ${r.config} @ ${r.targetRps} req/s | ${r.label} ${r.unit} | ${num(r.a)} | ${num(r.b)} | ${pct(r.changePct)} | ${ci(r)} | ${mark(r)} | ${r.why} |`,
    );
  lines.push('', 'Tests:');
  for (const t of [...new Set(c.rows.filter((r) => r.test !== 'none').map((r) => `${r.label}: ${r.test}`))])
    lines.push(`- ${t}`);
  if (c.onlyInA.length) lines.push(`Only in A (not compared): ${c.onlyInA.join(', ')}`);
  if (c.onlyInB.length) lines.push(`Only in B (not compared): ${c.onlyInB.join(', ')}`);
  for (const x of c.caveats) lines.push(`Note: ${x}`);
  return `${lines.join('\n')}\n`;
}
