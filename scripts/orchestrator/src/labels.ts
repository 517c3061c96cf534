/** Gateways of a run or row: recorded since --gateways; before that, one for microservices. */
export function gatewaysOf(x: { topology: string; gateways?: number | undefined }): number {
  return x.gateways ?? (x.topology === 'microservices' ? 1 : 0);
}

/** How a configuration is named everywhere: "monolith×2", "microservices×4 (2 gateways)". */
export function configLabel(x: { topology: string; replicas: number; gateways?: number | undefined }): string {
  const g = gatewaysOf(x);
  return g > 1 ? `${x.topology}×${x.replicas} (${g} gateways)` : `${x.topology}×${x.replicas}`;
}
