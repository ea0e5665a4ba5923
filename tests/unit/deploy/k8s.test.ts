/**
 * deploy/k8s: every manifest, as written and as Kustomize builds each overlay, validated against the
 * Kubernetes OpenAPI schemas and the KEDA, Strimzi and prometheus-operator CRD schemas (the
 * `kubernetes-models` packages' `validate()`); every RHEO_* variable a Rheo container gets is a declared
 * setting; and the invariants the deployment relies on (probes on the right ports, resources, grace
 * periods, KEDA on the consumer groups, the gateway's HPA and PDB, the topics from the catalogue).
 *
 * The builds run `kustomize build` (or `kubectl kustomize`, which embeds it) when one is installed; the
 * files are validated one by one in any case.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { KafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SERVICES } from '../../../cli/commands/run.ts';
import { REPO_ROOT } from '../../support/metrics.ts';
import { undeclared } from '../../support/settings.ts';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const OVERLAYS = ['base', 'overlays/local', 'overlays/production'] as const;

type Resource = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, checked by the schemas below
  any
>;

/** The model (with its JSON-schema validation) of each kind the manifests use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'kafka.strimzi.io/v1beta2/KafkaTopic': KafkaTopic,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

function validate(resource: Resource, where: string): void {
  const Model = MODELS[`${resource.apiVersion}/${resource.kind}`];
  if (!Model) throw new Error(`${where}: no schema for ${resource.apiVersion} ${resource.kind}`);
  // Kustomize wraps a generated Secret's base64 at 70 columns; the API server's decoder skips the line
  // breaks (Go's base64 ignores \r and \n), the schema's `byte` format does not.
  const data =
    resource.kind === 'Secret' && resource.data
      ? Object.fromEntries(Object.entries(resource.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]))
      : undefined;
  try {
    new Model((data ? { ...resource, data } : resource) as never).validate();
  } catch (error) {
    throw new Error(`${where}: ${resource.kind} ${resource.metadata?.name}: ${(error as Error).message}`);
  }
}

function documents(text: string, where: string): Resource[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJSON() as Resource | null;
    return value ? [value] : [];
  });
}

/** The files each kustomization lists under `resources:` (folders aside), with their documents. */
function resourceFiles(): Array<{ file: string; resources: Resource[] }> {
  const out: Array<{ file: string; resources: Resource[] }> = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'kustomization.yaml') {
        const kustomization = documents(readFileSync(join(dir, entry.name), 'utf8'), entry.name)[0] as unknown as {
          resources?: string[];
        };
        for (const listed of kustomization.resources ?? []) {
          if (!listed.endsWith('.yaml')) continue;
          const file = join(dir, listed);
          out.push({ file: relative(REPO_ROOT, file), resources: documents(readFileSync(file, 'utf8'), listed) });
        }
      }
    }
  };
  walk(K8S);
  return out;
}

/** `kustomize build` or `kubectl kustomize`, whichever is installed (undefined when neither is). */
function kustomizeCommand(): string[] | undefined {
  const works = (cmd: string[]) => {
    try {
      execFileSync(cmd[0] as string, [...cmd.slice(1), '--help'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (works(['kustomize', 'build'])) return ['kustomize', 'build'];
  if (works(['kubectl', 'kustomize'])) return ['kubectl', 'kustomize'];
  return undefined;
}

const KUSTOMIZE = kustomizeCommand();

function build(overlay: string): Resource[] {
  const [command, ...args] = KUSTOMIZE as string[];
  const text = execFileSync(command as string, [...args, join(K8S, overlay)], { encoding: 'utf8' });
  return documents(text, overlay);
}

const isRheoWorkload = (r: Resource) =>
  (r.kind === 'Deployment' || r.kind === 'Job') && r.metadata.labels?.['app.kubernetes.io/name'] === 'rheo';

/** Every variable a Rheo container gets: its env, and the keys of the ConfigMaps and Secrets it takes with envFrom. */
function rheoEnvironment(resources: Resource[]): Map<string, Set<string>> {
  const byName = new Map(resources.map((r) => [`${r.kind}/${r.metadata.name}`, r]));
  const seen = new Map<string, Set<string>>();
  for (const workload of resources.filter(isRheoWorkload)) {
    for (const container of workload.spec.template.spec.containers) {
      const names = new Set<string>((container.env ?? []).map((e: { name: string }) => e.name));
      for (const from of container.envFrom ?? []) {
        const ref = from.configMapRef ? `ConfigMap/${from.configMapRef.name}` : `Secret/${from.secretRef.name}`;
        const source = byName.get(ref);
        for (const key of Object.keys({ ...source?.data, ...source?.stringData })) names.add(key);
      }
      seen.set(`${workload.kind}/${workload.metadata.name}`, names);
    }
  }
  return seen;
}

describe('deploy/k8s files', () => {
  const files = resourceFiles();

  it('are valid Kubernetes, KEDA, Strimzi and prometheus-operator resources, one by one', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const { file, resources } of files) {
      expect(resources.length, `${file} holds resources`).toBeGreaterThan(0);
      for (const resource of resources) validate(resource, file);
    }
  });

  it('set only declared RHEO_* settings, in the config maps, the base and the production secret template', () => {
    const configKeys = files
      .flatMap((f) => f.resources)
      .filter((r) => r.kind === 'ConfigMap' && r.metadata.name === 'rheo-config')
      .flatMap((r) => Object.keys(r.data ?? {}));
    expect(configKeys.length).toBeGreaterThan(10);
    expect(configKeys.filter((k) => !k.startsWith('RHEO_'))).toEqual([]);
    expect(undeclared(configKeys)).toEqual([]);
    const template = readFileSync(join(K8S, 'overlays/production/secret.example.env'), 'utf8');
    const secretKeys = [...template.matchAll(/^#?\s*(RHEO_[A-Z0-9_]+)=/gm)].map((m) => m[1] as string);
    expect(secretKeys).toContain('RHEO_GATEWAY_API_KEYS');
    expect(undeclared(secretKeys)).toEqual([]);
  });

  it('give every Rheo workload probes on its ops or HTTP port, resources with a comment on their source, and a grace period past the drain', () => {
    const base = files.filter((f) => f.file.startsWith('deploy/k8s/base/'));
    const deployments = base.flatMap((f) => f.resources).filter((r) => r.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      ['gateway', ...Object.keys(SERVICES)].map((name) => `rheo-${name}`).sort(),
    );
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const [container] = pod.containers;
      const port = d.metadata.name === 'rheo-gateway' ? 'http' : 'ops';
      expect(container.livenessProbe.httpGet, d.metadata.name).toEqual({ path: '/healthz', port });
      expect(container.readinessProbe.httpGet, d.metadata.name).toEqual({ path: '/readyz', port });
      expect(container.ports.find((p: { name: string }) => p.name === port).containerPort).toBe(port === 'http' ? 8080 : 9464);
      expect(container.resources.requests.cpu && container.resources.requests.memory, d.metadata.name).toBeTruthy();
      expect(container.resources.limits.memory, d.metadata.name).toBeTruthy();
      // The runner's shutdown grace is 15 s; the gateway drains requests (2 s), the log (5 s) and a 5 s preStop.
      expect(pod.terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThanOrEqual(port === 'http' ? 20 : 30);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.enableServiceLinks, `${d.metadata.name}: no RHEO_GATEWAY_PORT=tcp://… from service links`).toBe(false);
      if (port === 'ops') {
        expect(container.args.slice(0, 2)).toEqual(['run', d.metadata.name.replace(/^rheo-/, '')]);
        expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe('9464');
      } else expect(container.args).toEqual(['gateway']);
    }
    for (const name of ['materializer', 'drift', 'trainer']) {
      const text = readFileSync(join(K8S, 'base', `${name}.yaml`), 'utf8');
      expect(text, `${name}.yaml says where its figures come from`).toMatch(/benchmark/);
    }
  });

  it('scale every processor but the rollout controller on its consumer group lag with KEDA', () => {
    const scaled = files.flatMap((f) => f.resources).filter((r) => r.kind === 'ScaledObject');
    const expected = Object.keys(SERVICES).filter((s) => s !== 'rollout-controller');
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(expected.map((s) => `rheo-${s}`).sort());
    for (const s of scaled) {
      const [trigger] = s.spec.triggers;
      expect(trigger.type).toBe('kafka');
      expect(trigger.metadata.consumerGroup).toBe(s.spec.scaleTargetRef.name.replace(/^rheo-/, 'rheo.'));
      expect(Number(trigger.metadata.lagThreshold)).toBeGreaterThan(0);
      expect(trigger.metadata.bootstrapServersFromEnv).toBe('RHEO_KAFKA_BROKERS');
    }
  });
});

describe.skipIf(!KUSTOMIZE)(
  `deploy/k8s built by ${KUSTOMIZE?.join(' ') ?? '(no kustomize or kubectl: builds not checked)'}`,
  () => {
    const built = Object.fromEntries(OVERLAYS.map((o) => [o, build(o)])) as Record<(typeof OVERLAYS)[number], Resource[]>;

    it.each(OVERLAYS)('%s: every resource is valid', (overlay) => {
      for (const resource of built[overlay]) validate(resource, overlay);
    });

    it.each(OVERLAYS)('%s: every Rheo container gets only declared RHEO_* settings', (overlay) => {
      const environment = rheoEnvironment(built[overlay]);
      expect(environment.size).toBeGreaterThanOrEqual(9);
      for (const [workload, names] of environment) {
        expect(
          [...names].filter((n) => !n.startsWith('RHEO_')),
          workload,
        ).toEqual([]);
        expect(undeclared(names), workload).toEqual([]);
      }
    });

    it('local: one replica of everything, no autoscaling, dev services, a generated secret and a shared data volume', () => {
      const local = built['overlays/local'];
      expect(local.filter((r) => ['ScaledObject', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(r.kind))).toEqual(
        [],
      );
      for (const d of local.filter((r) => r.kind === 'Deployment')) expect(d.spec.replicas, d.metadata.name).toBe(1);
      const names = local.map((r) => `${r.kind}/${r.metadata.name}`);
      for (const dev of ['kafka', 'apicurio-registry', 'redis', 'clickhouse']) expect(names).toContain(`Service/${dev}`);
      const secret = local.find((r) => r.kind === 'Secret') as Resource;
      const rheo = local.filter((r) => r.kind === 'Deployment' && r.metadata.labels?.['app.kubernetes.io/name'] === 'rheo');
      for (const d of rheo) {
        const [container] = d.spec.template.spec.containers;
        expect(container.image).toBe('rheo:dev');
        expect(container.envFrom.map((e: { secretRef?: { name: string } }) => e.secretRef?.name).filter(Boolean)).toEqual([
          secret.metadata.name,
        ]);
        expect(
          d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data').persistentVolumeClaim.claimName,
        ).toBe('rheo-data');
      }
      expect(new Set(local.map((r) => r.metadata.namespace ?? (r.kind === 'Namespace' ? r.metadata.name : undefined)))).toEqual(
        new Set(['rheo-local']),
      );
    });

    it('production: HPA and PDB bounds, two members per processor, the topics as KafkaTopics and PodMonitors', () => {
      const prod = built['overlays/production'];
      const find = (kind: string, name: string) => prod.find((r) => r.kind === kind && r.metadata.name === name) as Resource;
      expect(find('HorizontalPodAutoscaler', 'rheo-gateway').spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
      expect(find('PodDisruptionBudget', 'rheo-gateway').spec).toMatchObject({ maxUnavailable: 1 });
      expect(find('PodDisruptionBudget', 'rheo-gateway').spec.minAvailable).toBeUndefined();
      for (const s of prod.filter((r) => r.kind === 'ScaledObject'))
        if (s.metadata.name !== 'rheo-trainer') expect(s.spec.minReplicaCount, s.metadata.name).toBe(2);
      expect(find('Deployment', 'rheo-rollout-controller').spec.replicas).toBe(2);
      for (const service of Object.keys(SERVICES))
        expect(find('PodDisruptionBudget', `rheo-${service}`).spec.maxUnavailable).toBe(1);
      const topics = prod.filter((r) => r.kind === 'KafkaTopic');
      expect(topics.map((t) => t.spec.topicName)).toContain('models.lifecycle');
      for (const t of topics) expect(t.metadata.labels?.['strimzi.io/cluster']).toBe('rheo');
      expect(
        prod
          .filter((r) => r.kind === 'PodMonitor')
          .map((r) => r.metadata.name)
          .sort(),
      ).toEqual(['rheo-gateway', 'rheo-services']);
      expect(new Set(prod.map((r) => r.metadata.namespace ?? (r.kind === 'Namespace' ? r.metadata.name : undefined)))).toEqual(
        new Set(['rheo']),
      );
      for (const d of prod.filter(isRheoWorkload))
        expect(d.spec.template.spec.containers[0].image).toBe('registry.example.com/rheo-project:0.1.0');
    });
  },
);
