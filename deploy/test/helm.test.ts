/**
 * The Helm chart, rendered by deploy/test/helm-template.ts (helm cannot be installed
 * here): one worker Deployment and KEDA ScaledObject per pool, scaler keys that are the
 * keys BullMQ really writes (checked against a real Redis), grace periods, probes and
 * secrets.
 */
import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { SecretBox, keyLayout, parsePoolShards, settingValue, uploadQueueName } from '@upload-fleet/core';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { loadWorkerConfig, workerSettings } from '@upload-fleet/runtime';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderChart, type Manifest, type RenderOptions } from './helm-template.js';
import { CHART_DIR, SECRET_ENV } from './repo.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}
interface Trigger {
  type: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string };
}

const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
  redis: { prefix: string };
  secrets: { existingSecret: string };
  pools: Record<string, { concurrency: number; minReplicas: number; maxReplicas: number; targetWaiting: number }>;
};
const poolNames = Object.keys(values.pools).sort();

const render = (options: RenderOptions = {}) => renderChart(CHART_DIR, { releaseName: 'uf', ...options });
const ofKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const podOf = (deployment: Manifest) => (deployment.spec.template as { spec: PodSpec }).spec;
const containerOf = (deployment: Manifest) => podOf(deployment).containers[0]!;
const triggersOf = (scaledObject: Manifest) => scaledObject.spec.triggers as Trigger[];
const byName = (manifests: Manifest[], kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

/** Plain env values; secrets get placeholders that pass the schemas. */
function envValues(container: Container): Record<string, string> {
  const placeholders: Record<string, string> = {
    REDIS_URL: 'redis://redis:6379',
    ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    WEBHOOK_SECRET: 'x'.repeat(32),
    API_KEYS: `ops:${'k'.repeat(24)}`,
    DASHBOARD_USERS: `admin:${'p'.repeat(16)}`,
  };
  return Object.fromEntries(container.env.map((e) => [e.name, e.value ?? placeholders[e.name] ?? '']));
}

/** A port given by name (probes use the container port's name) or number. */
function portNumber(container: Container, port: string | number): number | undefined {
  return typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;
}

describe('Helm chart: workers and autoscaling', () => {
  const manifests = render();

  it('has a pool for every registered destination type, and none for a type that does not exist', () => {
    // Without a pool in the chart, jobs of a new type would wait forever.
    expect(poolNames).toEqual([...DESTINATION_TYPES].sort());
  });

  it('renders one worker Deployment and one ScaledObject per pool in values, each on WORKER_POOLS=<pool>', () => {
    const workers = ofKind(manifests, 'Deployment').filter((d) => d.metadata.name.startsWith('uf-worker-'));
    expect(workers.map((d) => d.metadata.name).sort()).toEqual(poolNames.map((p) => `uf-worker-${p}`));
    expect(ofKind(manifests, 'ScaledObject').map((s) => s.metadata.name).sort()).toEqual(poolNames.map((p) => `uf-worker-${p}`));
    for (const pool of poolNames) {
      const deployment = byName(manifests, 'Deployment', `uf-worker-${pool}`);
      const env = envValues(containerOf(deployment));
      expect(env.WORKER_POOLS).toBe(pool);
      expect(Number(env.WORKER_CONCURRENCY)).toBe(values.pools[pool]!.concurrency);
      // The worker's own configuration accepts it: the pool exists and has an adapter.
      expect(loadWorkerConfig(env, undefined, '/app').pools).toEqual([{ type: pool, concurrency: values.pools[pool]!.concurrency }]);
      const scaled = byName(manifests, 'ScaledObject', `uf-worker-${pool}`);
      expect(scaled.spec.scaleTargetRef).toEqual({ name: deployment.metadata.name });
      expect(scaled.spec.minReplicaCount).toBe(values.pools[pool]!.minReplicas);
      expect(scaled.spec.maxReplicaCount).toBe(values.pools[pool]!.maxReplicas);
      // KEDA owns the replica count.
      expect(deployment.spec.replicas).toBeUndefined();
    }
  });

  it('scales each pool on its queue\'s prioritized set and wait list (targetWaiting per pod) and active list (concurrency per pod), never on delayed jobs', () => {
    for (const pool of poolNames) {
      const queue = `${values.redis.prefix}:${uploadQueueName(pool)}`;
      const triggers = triggersOf(byName(manifests, 'ScaledObject', `uf-worker-${pool}`));
      expect(triggers.map((t) => [t.type, t.metadata.listName, t.metadata.listLength])).toEqual([
        ['redis', `${queue}:prioritized`, String(values.pools[pool]!.targetWaiting)],
        ['redis', `${queue}:wait`, String(values.pools[pool]!.targetWaiting)],
        ['redis', `${queue}:active`, String(values.pools[pool]!.concurrency)],
      ]);
      for (const trigger of triggers) expect(trigger.metadata.listName).not.toMatch(/:delayed$/);
    }
  });

  it('keeps at least one worker per pool by default: only a running worker promotes delayed jobs (retries, rate limits)', () => {
    for (const pool of poolNames) expect(values.pools[pool]!.minReplicas, pool).toBeGreaterThanOrEqual(1);
  });

  it('gives a stopping worker longer than SHUTDOWN_GRACE_MS before the kubelet kills it', () => {
    for (const pool of poolNames) {
      const deployment = byName(manifests, 'Deployment', `uf-worker-${pool}`);
      const env = envValues(containerOf(deployment));
      const graceMs = settingValue(workerSettings.SHUTDOWN_GRACE_MS, env.SHUTDOWN_GRACE_MS);
      // Some seconds beyond the grace: closing Redis and the health server after the hand-back.
      expect(podOf(deployment).terminationGracePeriodSeconds! - graceMs / 1000).toBeGreaterThanOrEqual(10);
    }
  });

  it('uses the Redis prefix from values, hash tag included, in the apps and in every scaler', () => {
    const custom = render({ values: { redis: { prefix: '{uf-prod}' } } });
    for (const deployment of ofKind(custom, 'Deployment')) expect(envValues(containerOf(deployment)).REDIS_PREFIX).toBe('{uf-prod}');
    for (const scaled of ofKind(custom, 'ScaledObject')) {
      for (const trigger of triggersOf(scaled)) expect(trigger.metadata.listName).toMatch(/^\{uf-prod\}:upload-[a-z0-9]+:(prioritized|wait|active)$/);
    }
  });

  it('reads the queue keys of the spread layout on Redis Cluster with a plain prefix, as KeyLayout names them', () => {
    for (const [prefix, cluster] of [['upload-fleet', true], ['{upload-fleet}', true], ['upload-fleet', false]] as const) {
      const manifests = render({ values: { redis: { prefix, cluster, address: 'a:6379' } } });
      const layout = keyLayout(prefix, { cluster });
      for (const pool of poolNames) {
        const triggers = triggersOf(byName(manifests, 'ScaledObject', `uf-worker-${pool}`));
        expect(triggers.map((t) => t.metadata.listName)).toEqual([`${layout.queueKeyBase(pool)}:prioritized`, `${layout.queueKeyBase(pool)}:wait`, `${layout.queueKeyBase(pool)}:active`]);
      }
    }
    // The spread layout's names, spelled out once.
    expect(triggersOf(byName(render({ values: { redis: { prefix: 'uf', cluster: true, address: 'a:6379' } } }), 'ScaledObject', 'uf-worker-s3'))[0]!.metadata.listName).toBe('{uf:s3}:upload-s3:prioritized');
  });

  it('splits a pool into the shards of redis.poolShards: POOL_SHARDS alike in every app, and a scaler trigger on each shard\'s queue', () => {
    for (const [prefix, cluster] of [['upload-fleet', true], ['{upload-fleet}', true], ['upload-fleet', false]] as const) {
      const manifests = render({ values: { redis: { prefix, cluster, address: 'a:6379', poolShards: { http: 3, s3: 2 } } } });
      const layout = keyLayout(prefix, { cluster });
      for (const deployment of ofKind(manifests, 'Deployment')) {
        const env = envValues(containerOf(deployment));
        expect(parsePoolShards(env.POOL_SHARDS ?? ''), deployment.metadata.name).toEqual({ shards: { http: 3, s3: 2 }, problems: [] });
      }
      for (const pool of poolNames) {
        const shards = pool === 'http' ? 3 : pool === 's3' ? 2 : 1;
        const expected = Array.from({ length: shards }, (_, shard) => ['prioritized', 'wait', 'active'].map((list) => `${layout.queueKeyBase(pool, shard)}:${list}`)).flat();
        expect(triggersOf(byName(manifests, 'ScaledObject', `uf-worker-${pool}`)).map((t) => t.metadata.listName), pool).toEqual(expected);
      }
    }
    // Without shards no app is given POOL_SHARDS.
    for (const deployment of ofKind(manifests, 'Deployment')) expect(envValues(containerOf(deployment)).POOL_SHARDS).toBeUndefined();
  });

  it('switches to the redis-cluster scaler, a TriggerAuthentication for the password, or fixed replicas without KEDA', () => {
    const cluster = render({ values: { redis: { cluster: true, address: 'a:6379,b:6379' }, secrets: { keys: { redisPassword: 'REDIS_PASSWORD' } } } });
    const trigger = triggersOf(ofKind(cluster, 'ScaledObject')[0]!)[0]!;
    expect(trigger.type).toBe('redis-cluster');
    expect(trigger.metadata.addresses).toBe('a:6379,b:6379');
    expect(trigger.authenticationRef).toEqual({ name: 'uf-redis' });
    const auth = byName(cluster, 'TriggerAuthentication', 'uf-redis');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'password', name: values.secrets.existingSecret, key: 'REDIS_PASSWORD' }]);

    const plain = render({ values: { keda: { enabled: false }, pools: { ftp: null } } });
    expect(ofKind(plain, 'ScaledObject')).toEqual([]);
    expect(ofKind(plain, 'TriggerAuthentication')).toEqual([]);
    expect(plain.some((m) => m.metadata.name === 'uf-worker-ftp')).toBe(false);
    expect(byName(plain, 'Deployment', 'uf-worker-s3').spec.replicas).toBe(1);
  });
});

describe('Helm chart: probes, disruption budgets and secrets', () => {
  const manifests = render();
  const deployments = ofKind(manifests, 'Deployment');

  it('points every probe at the port the app listens on', () => {
    for (const deployment of deployments) {
      const container = containerOf(deployment);
      const env = envValues(container);
      const app = container.args[0];
      const listens = Number(app === 'api' ? env.PORT : app === 'dashboard' ? env.DASHBOARD_PORT : env.HEALTH_PORT);
      expect(listens, deployment.metadata.name).toBe(app === 'api' ? 8080 : app === 'dashboard' ? 8082 : 8081);
      for (const probe of [container.livenessProbe, container.readinessProbe]) expect(portNumber(container, probe.httpGet.port)).toBe(listens);
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe(app === 'dashboard' ? '/healthz' : '/readyz');
    }
  });

  it('has a PodDisruptionBudget selecting each Deployment\'s pods, and a Service for api and dashboard', () => {
    for (const deployment of deployments) {
      const pdb = byName(manifests, 'PodDisruptionBudget', deployment.metadata.name);
      expect(pdb.spec.selector).toEqual(deployment.spec.selector);
    }
    for (const app of ['api', 'dashboard']) {
      const service = byName(manifests, 'Service', `uf-${app}`);
      expect(service.spec.selector).toEqual((byName(manifests, 'Deployment', `uf-${app}`).spec.selector as { matchLabels: unknown }).matchLabels);
    }
  });

  it('reads secrets only through secretKeyRef to the existing Secret, and renders no Secret', () => {
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    for (const deployment of deployments) {
      for (const variable of containerOf(deployment).env) {
        if (!(SECRET_ENV as readonly string[]).includes(variable.name)) continue;
        expect(variable.value, `${deployment.metadata.name} ${variable.name}`).toBeUndefined();
        expect(variable.valueFrom?.secretKeyRef?.name).toBe(values.secrets.existingSecret);
      }
    }
    const required: Record<string, string[]> = { api: ['API_KEYS', 'ENCRYPTION_KEYS', 'REDIS_URL'], worker: ['ENCRYPTION_KEYS', 'REDIS_URL', 'WEBHOOK_SECRET'], dashboard: ['DASHBOARD_USERS', 'REDIS_URL'] };
    for (const deployment of deployments) {
      const container = containerOf(deployment);
      const fromSecret = container.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
      expect(fromSecret).toEqual(expect.arrayContaining(required[container.args[0]!]!));
    }
  });
});

describe('Helm chart: the keys KEDA reads are the keys BullMQ writes', () => {
  const redisUrl = testRedisUrl();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  for (const [label, prefixOf] of [
    ['a plain prefix', (p: string) => p],
    ['a hash-tagged prefix', (p: string) => `{${p}}`],
  ] as const) {
    it(`counts every queued upload, whatever its priority, under a trigger's key, then the running one in the active list (${label})`, async () => {
      const prefix = prefixOf(uniquePrefix('deploy-keda'));
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      cleanup.push(async () => {
        await deletePrefix(redisUrl, prefix);
        connection.disconnect();
      });
      const producer = new Producer({ connection, prefix, secretBox: SecretBox.fromConfig(`k1:${Buffer.alloc(32, 3).toString('base64')}`) });
      cleanup.push(() => producer.close());

      const triggers = triggersOf(byName(render({ values: { redis: { prefix } } }), 'ScaledObject', 'uf-worker-s3'));
      const [prioritizedKey, waitKey, activeKey] = triggers.map((t) => t.metadata.listName!);
      /** What KEDA's redis scaler answers for a key: its script counts by TYPE (pkg/scalers/redis_scaler.go). */
      const kedaCount = async (key: string) => {
        const type = await connection.type(key);
        if (type === 'zset') return connection.zcard(key);
        if (type === 'list' || type === 'none') return connection.llen(key);
        throw new Error(`KEDA would count ${key} of type ${type} by SCARD/HLEN, never a queue's`);
      };

      for (const priority of ['high', undefined, 'low'] as const) {
        await producer.enqueue({
          source: { path: 'welcome.mp4' },
          upload: { extension: 'mp4', destination: { type: 's3', bucket: 'renders', filename: 'welcome.mp4', aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'secret-example' } },
          ...(priority ? { priority } : {}),
        });
      }
      // Every job has a priority, so the backlog is the sorted set; the triggers count all three.
      expect(await connection.type(prioritizedKey!)).toBe('zset');
      expect(await kedaCount(prioritizedKey!)).toBe(3);
      expect(await kedaCount(waitKey!)).toBe(0);
      expect(Math.max(...(await Promise.all(triggers.slice(0, 2).map((t) => kedaCount(t.metadata.listName!)))))).toBe(3);

      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const worker = new Worker(
        uploadQueueName('s3'),
        async () => {
          started();
          await held;
        },
        { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix },
      );
      cleanup.push(async () => {
        release();
        await worker.close();
        await worker.disconnect();
      });
      await running;
      expect(await kedaCount(prioritizedKey!)).toBe(2);
      expect(await connection.type(activeKey!)).toBe('list');
      expect(await kedaCount(activeKey!)).toBe(1);
    });
  }
});
