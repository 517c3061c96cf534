import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { which } from '../../src/sys/which.js';
import { ROOT } from '../helpers/docker.js';

/**
 * The Kubernetes manifests (deploy/k8s): each overlay rendered by the kustomize inside kubectl,
 * every object validated against the Kubernetes OpenAPI schemas (kubernetes-models, pinned),
 * then checked for what the deployment relies on. Mandatory under CI=true (.ci/run installs kubectl).
 */
const run = promisify(execFile);
const K8S = join(ROOT, 'deploy/k8s');

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML until validated below
type Obj = any;
interface Validatable {
  validate(): void;
}
const MODELS: Record<string, new (o: Obj) => Validatable> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Throws with the schema's reason when an object does not conform (or is of a kind we do not ship). */
function validate(o: Obj): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`${o.apiVersion}/${o.kind} ${o.metadata?.name}: not a kind these manifests ship`);
  new Model(o).validate();
}

function parseYaml(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean);
}

async function render(overlay: string): Promise<Obj[]> {
  const { stdout } = await run('kubectl', ['kustomize', join(K8S, 'overlays', overlay)], { timeout: 60_000 });
  return parseYaml(stdout);
}

/** CPU in millicores and memory in bytes, for requests ≤ limits. */
function quantity(q: string | number): number {
  const s = String(q);
  const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(s);
  if (!m) throw new Error(`quantity ${s} is not understood here`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** What every Deployment must have; returns the problems found (empty when it has all). */
function deploymentProblems(d: Obj, all: Obj[]): string[] {
  const p: string[] = [];
  const name = d.metadata.name;
  const pod = d.spec.template;
  if (!matches(d.spec.selector.matchLabels, pod.metadata.labels)) p.push('selector does not match its pods');
  if (pod.spec.securityContext?.runAsNonRoot !== true) p.push('pod runAsNonRoot is not true');
  if (pod.metadata.annotations?.['prometheus.io/scrape'] !== 'true') p.push('no prometheus.io/scrape annotation');
  // The images serve /metrics on METRICS_PORT (9464), never on the public port.
  if (pod.metadata.annotations?.['prometheus.io/port'] !== '9464') p.push('prometheus.io/port is not 9464');
  if (
    !pod.spec.containers.some((c: Obj) => c.ports?.some((x: Obj) => x.name === 'metrics' && x.containerPort === 9464))
  )
    p.push('no container declares the metrics port (9464)');
  const sa = pod.spec.serviceAccountName;
  if (sa && !all.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa)) p.push(`no ServiceAccount ${sa}`);
  for (const c of pod.spec.containers) {
    const at = `container ${c.name}`;
    if (c.readinessProbe?.httpGet?.path !== '/readyz') p.push(`${at}: readiness probe is not GET /readyz`);
    if (c.livenessProbe?.httpGet?.path !== '/healthz') p.push(`${at}: liveness probe is not GET /healthz`);
    for (const probe of [c.readinessProbe, c.livenessProbe])
      if (
        probe?.httpGet &&
        !c.ports?.some((x: Obj) => x.name === probe.httpGet.port || x.containerPort === probe.httpGet.port)
      )
        p.push(`${at}: a probe names port ${probe.httpGet.port}, which the container does not declare`);
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req === undefined || lim === undefined) p.push(`${at}: no ${r} request and limit`);
      else if (quantity(req) > quantity(lim)) p.push(`${at}: ${r} request above its limit`);
    }
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) p.push(`${at}: root filesystem is not read-only`);
    if (sc.allowPrivilegeEscalation !== false) p.push(`${at}: privilege escalation allowed`);
    if (!sc.capabilities?.drop?.includes('ALL')) p.push(`${at}: capabilities not dropped (ALL)`);
    const tmp = c.volumeMounts?.find((m: Obj) => m.mountPath === '/tmp');
    if (!tmp || !pod.spec.volumes?.some((v: Obj) => v.name === tmp.name && v.emptyDir))
      p.push(`${at}: no writable /tmp (emptyDir) under a read-only root`);
    for (const ref of c.envFrom ?? [])
      if (ref.configMapRef && !all.some((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.configMapRef.name))
        p.push(`${at}: ConfigMap ${ref.configMapRef.name} is not in the output`);
    if (!String(c.image).startsWith(`mlbench/${name}:`)) p.push(`${at}: image ${c.image} is not mlbench/${name}`);
  }
  return p;
}

const skip = which('kubectl')
  ? undefined
  : 'kubectl is not installed (it carries the kustomize that renders the overlays)';
if (skip && process.env.CI === 'true') throw new Error(`CI=true requires the manifest checks: ${skip}`);

t.test('the schema check and the property checks can fail', async (t) => {
  t.throws(
    () => validate({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'http' }] } }),
    /port must be integer/,
    'a Service with a non-integer port is rejected by the schema',
  );
  t.throws(() => validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }), /not a kind/);
  const objs = skip ? [] : await render('monolith');
  const d = objs.find((o) => o.kind === 'Deployment');
  if (!d) return;
  t.same(deploymentProblems(d, objs), [], 'the rendered monolith passes');
  const broken = structuredClone(d);
  delete broken.spec.template.spec.containers[0].readinessProbe;
  broken.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
  t.same(deploymentProblems(broken, objs), [
    'container monolith: readiness probe is not GET /readyz',
    'container monolith: root filesystem is not read-only',
  ]);
});

for (const [overlay, tiers, scaled] of [
  ['monolith', ['monolith'], 'monolith'],
  ['microservices', ['prediction', 'gateway'], 'prediction'],
] as const) {
  t.test(`overlay ${overlay}: rendered, schema-valid, and complete`, { skip }, async (t) => {
    const objs = await render(overlay);
    const ns = `mlbench-${overlay}`;
    for (const o of objs)
      t.doesNotThrow(() => validate(o), `${o.kind} ${o.metadata?.name} conforms to the Kubernetes schema`);
    t.ok(
      objs.some((o) => o.kind === 'Namespace' && o.metadata.name === ns),
      `namespace ${ns}`,
    );
    t.same(
      objs.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== ns).map((o) => o.metadata.name),
      [],
      `everything else lives in ${ns}`,
    );
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    t.same(deployments.map((d) => d.metadata.name).sort(), [...tiers].sort(), 'one Deployment per tier');
    for (const d of deployments) {
      const name = d.metadata.name;
      t.same(deploymentProblems(d, objs), [], `${name}: probes, resources, securityContext, scrape annotations`);
      const labels = d.spec.template.metadata.labels;
      const svc = objs.find((o) => o.kind === 'Service' && matches(o.spec.selector, labels));
      t.ok(svc, `${name}: a Service selects its pods`);
      t.equal(svc?.metadata.name, name, `${name}: the Service is named for the tier (the DNS name clients use)`);
      const portNames = d.spec.template.spec.containers.flatMap((c: Obj) => c.ports.map((x: Obj) => x.name));
      t.ok(
        svc?.spec.ports.every((x: Obj) => portNames.includes(x.targetPort)),
        `${name}: the Service targets a port the pods declare`,
      );
      const pdb = objs.find((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec.selector.matchLabels, labels));
      t.ok(pdb, `${name}: a PodDisruptionBudget covers it`);
      // A tier the autoscaler scales sets no replica count of its own: `kubectl apply -k` would reset it.
      const scaler = objs.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === name);
      if (scaler) t.equal(d.spec.replicas, undefined, `${name}: the autoscaler alone sets its replica count`);
      const replicas = d.spec.replicas ?? scaler?.spec.minReplicas;
      if (pdb?.spec.minAvailable !== undefined)
        t.ok(pdb.spec.minAvailable < replicas, `${name}: the budget still lets a node drain`);
    }
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    t.ok(
      policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress),
      'ingress is denied by default in the namespace',
    );
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      const open = policies.filter((p) => p.spec.ingress && matches(p.spec.podSelector.matchLabels, labels));
      t.ok(open.length > 0, `${d.metadata.name}: a policy opens its port`);
      const fromAnywhere = open.some((p) => p.spec.ingress.some((rule: Obj) => !rule.from));
      const rules = open.flatMap((p) => p.spec.ingress as Obj[]);
      const metricsRules = rules.filter((r) => r.ports?.some((x: Obj) => x.port === 'metrics'));
      t.ok(metricsRules.length > 0, `${d.metadata.name}: a rule opens the metrics port`);
      t.ok(
        metricsRules.every(
          (r) =>
            r.from?.length > 0 &&
            r.from.every(
              (f: Obj) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
            ),
        ),
        `${d.metadata.name}: only the monitoring namespace reaches its metrics`,
      );
      t.ok(
        rules.every((r) => r.ports?.length > 0),
        `${d.metadata.name}: every rule names its ports (none opens them all)`,
      );
      t.equal(
        fromAnywhere,
        d.metadata.name !== 'prediction',
        `${d.metadata.name}: ${d.metadata.name === 'prediction' ? 'only the gateway and monitoring reach it' : 'the entry tier takes outside traffic'}`,
      );
    }
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler');
    t.equal(hpa?.spec.scaleTargetRef.kind, 'Deployment');
    t.equal(hpa?.spec.scaleTargetRef.name, scaled, `the autoscaler scales the ${scaled} tier`);
    t.ok(hpa && hpa.spec.minReplicas <= hpa.spec.maxReplicas && hpa.spec.minReplicas >= 2, 'min 2 ≤ max replicas');
    t.equal(hpa?.spec.metrics[0].resource.name, 'cpu', 'on CPU utilisation (the pods request CPU)');
    if (overlay === 'microservices') {
      const prediction = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'prediction');
      t.equal(
        prediction?.spec.clusterIP,
        'None',
        "prediction is headless: DNS returns every pod, as the gateway's discovery needs",
      );
      const gw = deployments.find((d) => d.metadata.name === 'gateway').spec.template.spec.containers[0];
      const dns = gw.env.find((e: Obj) => e.name === 'PREDICTION_DNS')?.value;
      t.equal(dns, `prediction:${prediction?.spec.ports[0].port}`, 'the gateway resolves the prediction Service');
    }
  });
}

t.test('the in-cluster k6 Job is schema-valid and mounts every file its scripts load', async (t) => {
  const [job] = parseYaml(readFileSync(join(K8S, 'k6/job.yaml'), 'utf8'));
  t.doesNotThrow(() => validate(job), 'Job conforms to the Kubernetes schema');
  const items: { key: string; path: string }[] = job.spec.template.spec.volumes.find((v: Obj) => v.configMap).configMap
    .items;
  const sources: Record<string, string> = {
    'k6/': join(ROOT, 'loadtests/k6'),
    'k6/lib/': join(ROOT, 'loadtests/k6/lib'),
    'scenarios/': join(ROOT, 'loadtests/scenarios'),
  };
  for (const { key, path } of items) {
    const dir = path.slice(0, path.lastIndexOf('/') + 1);
    t.ok(sources[dir] && readdirSync(sources[dir]).includes(key), `${path}: ${key} is a repository file`);
  }
  const paths = new Set(items.map((i) => i.path));
  for (const script of items.filter((i) => /^k6\/[^/]+\.ts$/.test(i.path))) {
    const text = readFileSync(join(ROOT, 'loadtests', script.path), 'utf8');
    for (const [, rel] of text.matchAll(/open\('\.\.\/(scenarios\/[^']+)'\)/g))
      t.ok(paths.has(rel!), `${script.path} opens ${rel}, which is mounted`);
    for (const [, rel] of text.matchAll(/from '\.\/(lib\/[^']+)'/g))
      t.ok(paths.has(`k6/${rel}`), `${script.path} imports ${rel}, which is mounted`);
  }
  const args: string[] = job.spec.template.spec.containers[0].args;
  t.ok(paths.has(args[1]!.replace('/loadtests/', '')), `the Job runs a mounted script (${args[1]})`);
});
