/**
 * Ridge least squares by CGLS with an unpenalised intercept (last column, implicit ones):
 * minimise ‖Zβ − y‖² + λ‖β_w‖². O(rows·dim) per iteration, no dim×dim matrix.
 */
export function ridgeCgls(Z: Float64Array, y: Float64Array, rows: number, dim: number, lambda = 0, maxIter = 400) {
  const n = dim + 1;
  const mulA = (v: Float64Array, out: Float64Array) => {
    for (let r = 0; r < rows; r++) {
      let acc = v[dim]!;
      const o = r * dim;
      for (let f = 0; f < dim; f++) acc += Z[o + f]! * v[f]!;
      out[r] = acc;
    }
  };
  const gradient = (resid: Float64Array, beta: Float64Array, out: Float64Array) => {
    out.fill(0);
    for (let r = 0; r < rows; r++) {
      const u = resid[r]!;
      const o = r * dim;
      for (let f = 0; f < dim; f++) out[f]! += Z[o + f]! * u;
      out[dim]! += u;
    }
    for (let f = 0; f < dim; f++) out[f]! -= lambda * beta[f]!;
  };
  const beta = new Float64Array(n);
  const resid = Float64Array.from(y.subarray(0, rows));
  const s = new Float64Array(n);
  gradient(resid, beta, s);
  const p = Float64Array.from(s);
  const q = new Float64Array(rows);
  let gamma = 0;
  for (let i = 0; i < n; i++) gamma += s[i]! * s[i]!;
  const gamma0 = gamma;
  for (let it = 0; it < maxIter && gamma > 1e-20 * gamma0; it++) {
    mulA(p, q);
    let delta = 0;
    for (let r = 0; r < rows; r++) delta += q[r]! * q[r]!;
    for (let f = 0; f < dim; f++) delta += lambda * p[f]! * p[f]!;
    const alpha = gamma / delta;
    for (let i = 0; i < n; i++) beta[i]! += alpha * p[i]!;
    for (let r = 0; r < rows; r++) resid[r]! -= alpha * q[r]!;
    gradient(resid, beta, s);
    let next = 0;
    for (let i = 0; i < n; i++) next += s[i]! * s[i]!;
    const b = next / gamma;
    gamma = next;
    for (let i = 0; i < n; i++) p[i] = s[i]! + b * p[i]!;
  }
  return { weights: beta.subarray(0, dim), intercept: beta[dim]! };
}
