/**
 * The Kubernetes manifests in deploy/, checked offline: each object against the published
 * Kubernetes OpenAPI schemas (kubernetes-models' validators), and against the service itself (the
 * probes hit real endpoints, the environment is a configuration loadConfig accepts, the trusted
 * issuers load, the Service and the HorizontalPodAutoscaler point at the Deployment).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { loadTrustedIssuers } from '../src/auth/trusted-issuers.js';
import { loadConfig } from '../src/config.js';
import { projectRoot } from './support/fixtures.js';

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1 Service': Service,
  'v1 Secret': Secret,
  'v1 ConfigMap': ConfigMap,
};

const deployDir = join(projectRoot, 'deploy');
const objects: any[] = readdirSync(deployDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(deployDir, file), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return { file, ...(doc.toJSON() as object) };
    }),
  );
const one = (kind: string) => objects.find((o) => o.kind === kind)!;

test('deploy/ holds a Deployment, a Service, a HorizontalPodAutoscaler, the Secret with DATABASE_URL and the trusted-issuers ConfigMap', () => {
  expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Secret', 'Service']);
});

test.each(objects.map((o) => [`${o.file}: ${o.kind} ${o.metadata?.name}`, o]))('%s is valid against the Kubernetes schema', (_name, object) => {
  const { file: _file, ...manifest } = object;
  const Model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
  expect(Model).toBeDefined();
  expect(() => new Model!(manifest).validate()).not.toThrow();
});

test('the schema check does catch a broken manifest', () => {
  const { file: _file, ...deployment } = structuredClone(one('Deployment'));
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand';
  expect(() => new Deployment(deployment).validate()).toThrow();
});

describe('the Deployment fits the service', () => {
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));

  test('liveness on /healthz, readiness on /readyz, on the container port the service listens on', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: Number(env.PORT.value), protocol: 'TCP' }]);
  });

  test('non-root, no privilege escalation, read-only root file system, resources set', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toBeDefined();
  });

  test('DATABASE_URL comes from the Secret, and the whole environment is one loadConfig accepts in production', () => {
    const secret = one('Secret');
    expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'DATABASE_URL' });
    const values: Record<string, string> = Object.fromEntries(
      Object.entries(env).map(([name, e]: [string, any]) => [name, e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key]]),
    );
    const config = loadConfig(values);
    expect(config).toMatchObject({ production: true, auth: 'required', databaseUrl: expect.stringMatching(/^postgres:\/\//), publicBaseUrl: expect.stringMatching(/^https:/) });
    // Draining (SHUTDOWN_TIMEOUT_MS) and the preStop pause fit in the grace period.
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    expect(config.shutdownTimeoutMs / 1000 + preStop).toBeLessThan(pod.terminationGracePeriodSeconds);
  });

  test('the trusted-issuers ConfigMap is mounted where CDS_TRUSTED_ISSUERS points, and loads', () => {
    const configMap = one('ConfigMap');
    const volume = pod.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name);
    const mount = container.volumeMounts.find((m: any) => m.name === volume.name);
    const [fileName, content] = Object.entries(configMap.data)[0] as [string, string];
    expect(env.CDS_TRUSTED_ISSUERS.value).toBe(`${mount.mountPath}/${fileName}`);
    const dir = mkdtempSync(join(tmpdir(), 'crd-deploy-'));
    try {
      writeFileSync(join(dir, fileName), content);
      expect(loadTrustedIssuers(join(dir, fileName)).map((i) => i.iss)).toEqual(['https://ehr.example.org']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the Service selects the pods and the HorizontalPodAutoscaler scales the Deployment', () => {
    const service = one('Service');
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].targetPort).toBe('http');
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });
});
