/**
 * Closed forms of the textbook queues the simulator is tested against (and which size a
 * first guess before it runs). Rates are per millisecond, times in milliseconds. No npm
 * package for these is kept up (the few on the registry are unmaintained single-file
 * ports), and each is a few lines of a standard text (Kleinrock, Queueing Systems I;
 * Gross & Harris, Fundamentals of Queueing Theory).
 */

/** Erlang C: the probability that an arrival waits, c servers, offered load a = λ/μ (a < c). */
export function erlangC(c: number, a: number): number {
  if (!(c >= 1) || !Number.isInteger(c)) throw new Error(`erlangC: c must be a positive integer, got ${c}`);
  if (a >= c) return 1;
  // Erlang B by its stable recursion, then C from B.
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return (c * b) / (c - a * (1 - b));
}

/** M/M/c: mean wait in queue, P(Wq > t) and the q-quantile of the wait. */
export function mmc(lambda: number, mu: number, c: number) {
  const a = lambda / mu;
  if (a >= c) throw new Error(`M/M/${c} is unstable at λ/μ = ${a}`);
  const pw = erlangC(c, a);
  const drain = c * mu - lambda;
  return {
    waitProbability: pw,
    meanWait: pw / drain,
    waitTail: (t: number) => (t <= 0 ? pw : pw * Math.exp(-drain * t)),
    /** The q-quantile of the wait: 0 while at least q of arrivals do not wait. */
    waitQuantile: (q: number) => (pw <= 1 - q ? 0 : Math.log(pw / (1 - q)) / drain),
  };
}

/** M/M/1: the response time (wait + service) is exponential with rate μ − λ. */
export function mm1(lambda: number, mu: number) {
  if (lambda >= mu) throw new Error(`M/M/1 is unstable at ρ = ${lambda / mu}`);
  const q = mmc(lambda, mu, 1);
  return {
    ...q,
    meanResponse: 1 / (mu - lambda),
    responseQuantile: (p: number) => -Math.log(1 - p) / (mu - lambda),
  };
}

/**
 * M/D/1 (deterministic service d): the Pollaczek–Khinchine mean wait, and Erlang's exact
 * waiting-time distribution P(W ≤ t) = (1 − ρ) Σ_{k=0}^{⌊t/d⌋} e^{λ(t−kd)} (kd − t)^k λ^k / k!.
 * The alternating sum loses precision past t ≈ 30 d; the quantiles asked of it stay well inside.
 */
export function md1(lambda: number, d: number) {
  const rho = lambda * d;
  if (rho >= 1) throw new Error(`M/D/1 is unstable at ρ = ${rho}`);
  const waitCdf = (t: number) => {
    if (t < 0) return 0;
    let sum = 0;
    for (let k = 0; k <= Math.floor(t / d); k++) {
      const u = lambda * (k * d - t);
      let term = Math.exp(-u);
      for (let j = 1; j <= k; j++) term *= u / j;
      sum += term;
    }
    return Math.min(1, (1 - rho) * sum);
  };
  return {
    meanWait: (rho * d) / (2 * (1 - rho)),
    waitCdf,
    waitQuantile: (q: number) => {
      if (waitCdf(0) >= q) return 0;
      let lo = 0;
      let hi = d;
      while (waitCdf(hi) < q) hi *= 2;
      for (let i = 0; i < 60; i++) {
        const mid = (lo + hi) / 2;
        if (waitCdf(mid) < q) lo = mid;
        else hi = mid;
      }
      return (lo + hi) / 2;
    },
  };
}
