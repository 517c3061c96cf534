import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { DriverProgress } from '../driver/types.js';
import { topologyOfLabel } from '../results/labels.js';

/**
 * The load generator's side for Prometheus: what it completed and dropped, by topology,
 * served on a loopback port. Fed from the driver's progress reports (cumulative per run).
 */
export class DriverMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'mlbench_driver_requests_total',
    help: 'Requests the load generator completed, by topology and outcome',
    labelNames: ['topology', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly dropped = new Counter({
    name: 'mlbench_driver_dropped_total',
    help: 'Arrivals the load generator dropped because every connection (VU) was busy',
    labelNames: ['topology'] as const,
    registers: [this.registry],
  });
  private readonly rate = new Gauge({
    name: 'mlbench_driver_completed_rate',
    help: 'Completions per second over the last progress window',
    labelNames: ['topology'] as const,
    registers: [this.registry],
  });
  private last = { label: '', elapsedMs: -1, completed: 0, errors: 0, dropped: 0 };
  private server: Server | undefined;

  observe(p: DriverProgress): void {
    const topology = topologyOfLabel(p.label);
    // A new run starts its counts at zero again.
    if (p.label !== this.last.label || p.elapsedMs < this.last.elapsedMs)
      this.last = { label: p.label, elapsedMs: 0, completed: 0, errors: 0, dropped: 0 };
    const ok = p.completed - p.errors - (this.last.completed - this.last.errors);
    const errors = p.errors - this.last.errors;
    const dropped = p.dropped - this.last.dropped;
    // inc(0) still creates the series: a dashboard shows 0 rather than "no data".
    this.requests.inc({ topology, outcome: 'ok' }, Math.max(0, ok));
    this.requests.inc({ topology, outcome: 'error' }, Math.max(0, errors));
    this.dropped.inc({ topology }, Math.max(0, dropped));
    this.rate.set({ topology }, p.rate);
    this.last = {
      label: p.label,
      elapsedMs: p.elapsedMs,
      completed: p.completed,
      errors: p.errors,
      dropped: p.dropped,
    };
  }

  /** Serve /metrics on 127.0.0.1 (a free port); returns host:port. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void this.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(text);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
