import type { Topology } from '../results/labels.js';
import type { ProcSample } from '../sys/procfs.js';

export { TOPOLOGIES, type Topology, topologyOfLabel } from '../results/labels.js';
export type ServiceName = 'monolith' | 'gateway' | 'prediction';

export interface Component {
  /** Unique within a deployment, e.g. "prediction-2"; also its REPLICA_ID. */
  name: string;
  service: ServiceName;
  url: string;
  /** Where its /metrics is, when not at `url` (the images serve it on METRICS_PORT, off the public port). */
  metricsUrl?: string | undefined;
  pid?: number | undefined;
  /** The machine it runs on, where that is not this one (a swarm node's hostname). */
  node?: string | undefined;
  /** Histogram names in its /metrics, when not ours. */
  histograms?: { request?: string | undefined; inference?: string | undefined } | undefined;
}

export const metricsUrlOf = (c: Component): string => c.metricsUrl ?? c.url;

/** A running topology, whatever started it. */
export interface Deployment {
  topology: Topology;
  backend: string;
  replicas: number;
  /** Gateway replicas in front of the prediction tier (microservices; 0 for the monolith). */
  gateways: number;
  /** Where load goes: every monolith replica, or every gateway. */
  entryUrls: string[];
  components: Component[];
  /** Network hops a request crosses from the load generator to the model. */
  hops: number;
  /** How the entry tier's load is spread, for the report's fairness statement. */
  entrySpreading: string;
  /** What the deployment is an implementation of: "mlbench" (ours), or a deployment file's name. */
  implementation?: string;
  /** The entry replicas' health path for the client-side balancer (default /readyz); null: none. */
  healthPath?: string | null;
  /** x-served-by values → component names, where the service names itself (containers: hostname:port). */
  servedByAlias?: Record<string, string>;
  /** CPU and memory of every component now, by component name (/proc, or the engine's stats). */
  sampleResources(): Promise<Map<string, ProcSample>>;
  stop(): Promise<void>;
}
