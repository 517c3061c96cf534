/** A number for a table cell: fixed decimals, or a dash where there is none. */
export const fmt = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined ? '–' : Number(x).toFixed(d);
