export type Topology = 'monolith' | 'microservices';
export const TOPOLOGIES: readonly Topology[] = ['monolith', 'microservices'];

/** The topology a driver run's label names ("trial monolith×2", "warm-up microservices×1"). */
export function topologyOfLabel(label: string): Topology | 'unknown' {
  return TOPOLOGIES.find((t) => label.includes(t)) ?? 'unknown';
}

/** Gateways of a run or row: recorded since --gateways; before that, one for microservices. */
export function gatewaysOf(x: { topology: string; gateways?: number | undefined }): number {
  return x.gateways ?? (x.topology === 'microservices' ? 1 : 0);
}

/** A component's kind from its name: "prediction-2" → "prediction". */
export function componentKind(name: string): string {
  return name.replace(/-\d+$/, '');
}

/** Whose services a run or row measured: ours unless recorded otherwise (--backend command/external). */
export function implementationOf(x: { implementation?: string | undefined }): string {
  return x.implementation ?? 'mlbench';
}

type Config = {
  topology: string;
  replicas: number;
  gateways?: number | undefined;
  implementation?: string | undefined;
};

/**
 * How a configuration is named everywhere: "monolith×2", "microservices×4 (2 gateways)";
 * another implementation's is prefixed with its name: "article-flask monolith×1".
 */
export function configLabel(x: Config): string {
  const g = gatewaysOf(x);
  const base = g > 1 ? `${x.topology}×${x.replicas} (${g} gateways)` : `${x.topology}×${x.replicas}`;
  const impl = implementationOf(x);
  return impl === 'mlbench' ? base : `${impl} ${base}`;
}

/** The same configuration: implementation, topology, replicas and gateways all equal. */
export function sameConfig(a: Config, b: Config): boolean {
  return (
    implementationOf(a) === implementationOf(b) &&
    a.topology === b.topology &&
    a.replicas === b.replicas &&
    gatewaysOf(a) === gatewaysOf(b)
  );
}
