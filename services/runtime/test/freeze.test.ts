import t from 'tap';
import { FreezeDetector } from '../src/freeze.js';

/** A detector on a manual clock: wall time and CPU time advance as each case says. */
function detector() {
  const clock = { wall: 0, cpu: 0 };
  const d = new FreezeDetector(100, 250, 1_500, 0.25, { wall: () => clock.wall, cpu: () => clock.cpu });
  d.stop(); // ticks are driven by hand
  const advance = (wallMs: number, cpuMs: number) => {
    clock.wall += wallMs;
    clock.cpu += cpuMs;
    d.tick();
  };
  /** Regular 100 ms ticks of a running, lightly loaded process. */
  const run = (ms: number) => {
    for (let i = 0; i < ms / 100; i++) advance(100, 5);
  };
  return { d, clock, advance, run };
}

t.test('a gap with no CPU time is a freeze: shedding on loop delay is held off for the grace period', async (t) => {
  const { d, advance, run } = detector();
  run(300);
  t.notOk(d.recentlyFrozen(), 'regular ticks: not frozen');
  advance(700, 2); // SIGSTOP for 700 ms: below the old 1 s threshold, enough to trip a 200 ms delay limit
  t.ok(d.recentlyFrozen(), 'a 700 ms gap spent off the CPU is a freeze');
  run(1_400);
  t.ok(d.recentlyFrozen(), 'still within the grace period');
  run(200);
  t.notOk(d.recentlyFrozen(), 'the grace period ends');
});

t.test('a gap spent on the CPU is overload, not a freeze', async (t) => {
  const { d, advance } = detector();
  advance(700, 690);
  t.notOk(d.recentlyFrozen(), 'a 700 ms synchronous block: shedding stays on');
  advance(600, 300);
  t.notOk(d.recentlyFrozen(), 'a half-busy gap (sharing a core) is not a freeze either');
  advance(200, 0);
  t.notOk(d.recentlyFrozen(), 'a short late tick is no stall');
});

t.test('on the real clock, an idle or a busy process is not taken for frozen', async (t) => {
  // A real freeze (SIGSTOP) is tested end to end by the orchestrator's stall test.
  const d = new FreezeDetector();
  t.teardown(() => d.stop());
  await new Promise((r) => setTimeout(r, 350));
  t.notOk(d.recentlyFrozen(), 'an idle, running process is not frozen');
  const until = performance.now() + 400;
  while (performance.now() < until) {} // a busy loop: late ticks, all CPU
  await new Promise((r) => setTimeout(r, 150));
  t.notOk(d.recentlyFrozen(), 'a loop blocked by its own work is not frozen');
});
