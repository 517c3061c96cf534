/** x to `decimals` places (figures in results.json and reports: 0.001 ms is below any clock here). */
export const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};

/** x to three decimal places: milliseconds to the microsecond. */
export const round3 = (x: number): number => round(x, 3);

/** x to `digits` significant digits (spreads between repeats, whatever their magnitude). */
export const significant = (x: number, digits: number): number => Number(x.toPrecision(digits));
