/** The report as blocks, rendered both to Markdown and to self-contained HTML. */
export type Block =
  | { h: string; level?: 2 | 3 }
  | { p: string }
  | { list: string[] }
  | { table: { head: string[]; rows: (string | number)[][] } }
  | { chart: string | undefined; caption: string };
