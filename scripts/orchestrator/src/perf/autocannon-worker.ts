/**
 * autocannon in its own (pinnable) process: a closed-loop maximum-throughput probe.
 * argv[2] is the JSON of autocannon's options; prints one JSON line with the result and
 * the CPU this process used.
 */
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2] ?? '{}') as autocannon.Options;
const cpu0 = process.cpuUsage();
const result = await autocannon(opts);
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    durationS: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
