// ml-regression ships no types; only what this package uses is declared.
declare module 'ml-regression' {
  export class MultivariateLinearRegression {
    constructor(x: number[][], y: number[][], options?: { intercept?: boolean; statistics?: boolean });
    weights: number[][];
    predict(x: number[]): number[];
    predict(x: number[][]): number[][];
  }
}
