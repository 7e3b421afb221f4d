// The charts, rendered and checked without a cluster: lint, every profile's manifests, the values README.
// helm comes from KINORA_HELM when set (a local build), else from the harness (`ensureHelm`).
import { beforeAll, describe, expect, test } from '@jest/globals';
import { ensureHelm, vendoredCrdsDir } from '@kinora/testing';
import { TOPICS } from '@kinora/contracts';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readKeyDir } from '@kinora/user';
import {
  PROFILES,
  buildDependencies,
  chartDir,
  chartsDir,
  commonChartDir,
  crdProblems,
  loadCrdSchemas,
  parseManifests,
  profileArgs,
  run,
  template,
  type Manifest,
  type Profile,
} from './helm.js';

const SERVICES = ['gateway', 'user', 'video', 'transcoder', 'comment', 'like', 'subscription', 'recommendation', 'analytics', 'realtime', 'web'];
/** What each service calls (its <NAME>_SERVICE_URL variables and NetworkPolicy egress). */
const UPSTREAMS: Record<string, string[]> = {
  gateway: ['user', 'video', 'comment', 'like', 'subscription', 'recommendation', 'analytics', 'realtime'],
  user: ['analytics'],
  video: ['user', 'analytics'],
  transcoder: [],
  comment: ['user'],
  like: ['user'],
  subscription: ['user'],
  recommendation: ['user', 'video'],
  analytics: ['user'],
  realtime: ['user', 'analytics'],
  web: [],
};
const EDGE_FACING = ['gateway', 'realtime', 'web'];
const dashboardsDir = join(chartDir, 'files', 'dashboards');
const SELECTOR_KEYS = ['app.kubernetes.io/instance', 'app.kubernetes.io/name'];
const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

let helm: string;
const rendered = new Map<Profile, Manifest[]>();

beforeAll(async () => {
  helm = process.env['KINORA_HELM'] ?? (await ensureHelm());
  await buildDependencies(helm);
  for (const profile of PROFILES) rendered.set(profile, parseManifests(await template(helm, profile)));
}, 300_000);

const of = (profile: Profile, kind: string): Manifest[] => rendered.get(profile)!.filter((m) => m.kind === kind);
const named = (profile: Profile, kind: string, name: string): Manifest => {
  const m = of(profile, kind).find((x) => x.metadata.name === name);
  if (!m) throw new Error(`${profile}: no ${kind} ${name}`);
  return m;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const container = (d: Manifest): any => d.spec.template.spec.containers[0];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const envOf = (d: Manifest): Map<string, any> => new Map(container(d).env.map((e: { name: string }) => [e.name, e]));

describe('lint', () => {
  test('both charts pass helm lint --strict', async () => {
    for (const dir of [commonChartDir, chartDir]) {
      const r = await run(helm, ['lint', '--strict', dir]);
      expect({ dir, code: r.code, out: r.code === 0 ? '' : r.stdout + r.stderr }).toEqual({ dir, code: 0, out: '' });
    }
  });

  test.each(PROFILES.filter((p) => p !== 'default'))('the %s profile passes helm lint --strict', async (profile) => {
    const r = await run(helm, ['lint', '--strict', chartDir, ...profileArgs(profile)]);
    expect(r.code === 0 ? '' : r.stdout + r.stderr).toBe('');
  });

  test('the schema rejects an unknown key and a bad value', async () => {
    const typo = await run(helm, ['template', 'kinora', chartDir, '--set', 'services.gateway.replcas=2']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/replcas/);
    const mode = await run(helm, ['template', 'kinora', chartDir, '--set', 'kafka.mode=zookeeper']);
    expect(mode.code).not.toBe(0);
  });
});

describe('images', () => {
  const values = parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { image: { repository: string }; services: { transcoder: { image: { repository: string } } } };
  const appVersion = (parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;
  const kinora = values.image.repository;
  const transcoder = values.services.transcoder.image.repository;
  const images = (manifests: Manifest[]) =>
    new Map(manifests.filter((m) => m.kind === 'Deployment').map((d) => [d.metadata.name.replace(/^kinora-/, ''), container(d).image as string]));

  test('by default the transcoder runs kinora-transcoder (the kinora image plus ffmpeg), every other service kinora, at the appVersion', () => {
    // The names `npm run images` gives its two images (libs/testing images.ts reads them from these values).
    expect(transcoder).toBe(`${kinora}-transcoder`);
    for (const [svc, image] of images(rendered.get('default')!)) {
      expect({ svc, image }).toEqual({ svc, image: `${svc === 'transcoder' ? transcoder : kinora}:${appVersion}` });
    }
  });

  test('image.registry and image.tag reach the transcoder\'s own repository; image.digest does not (other content)', async () => {
    const tagged = await run(helm, ['template', 'kinora', chartDir, '--set', 'image.registry=registry.example', '--set', 'image.tag=1.2.3']);
    expect(tagged.stderr).toBe('');
    for (const [svc, image] of images(parseManifests(tagged.stdout))) {
      expect({ svc, image }).toEqual({ svc, image: `registry.example/${svc === 'transcoder' ? transcoder : kinora}:1.2.3` });
    }
    const digest = `sha256:${'a'.repeat(64)}`;
    const pinned = await run(helm, ['template', 'kinora', chartDir, '--set', `image.digest=${digest}`]);
    expect(pinned.stderr).toBe('');
    const byDigest = images(parseManifests(pinned.stdout));
    expect(byDigest.get('gateway')).toBe(`${kinora}@${digest}`);
    expect(byDigest.get('transcoder')).toBe(`${transcoder}:${appVersion}`);
    const own = await run(helm, ['template', 'kinora', chartDir, '--set', `services.transcoder.image.digest=${digest}`]);
    expect(images(parseManifests(own.stdout)).get('transcoder')).toBe(`${transcoder}@${digest}`);
  });
});

describe.each(PROFILES)('profile %s', (profile) => {
  test('every object carries the standard labels', () => {
    for (const m of rendered.get(profile)!) {
      const labels = m.metadata.labels ?? {};
      for (const key of [...SELECTOR_KEYS, 'app.kubernetes.io/managed-by', 'app.kubernetes.io/part-of', 'helm.sh/chart']) {
        expect({ object: `${m.kind}/${m.metadata.name}`, key, present: key in labels }).toEqual({ object: `${m.kind}/${m.metadata.name}`, key, present: true });
      }
      expect(labels['app.kubernetes.io/instance']).toBe('kinora');
    }
  });

  test('selectors hold only app.kubernetes.io/name and app.kubernetes.io/instance, and match their pods', () => {
    for (const d of of(profile, 'Deployment')) {
      expect(Object.keys(d.spec.selector.matchLabels).sort()).toEqual(SELECTOR_KEYS);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
      const svc = named(profile, 'Service', d.metadata.name);
      expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    }
    for (const p of of(profile, 'PodDisruptionBudget')) expect(Object.keys(p.spec.selector.matchLabels).sort()).toEqual(SELECTOR_KEYS);
    for (const n of of(profile, 'NetworkPolicy')) expect(Object.keys(n.spec.podSelector.matchLabels).sort()).toEqual(SELECTOR_KEYS);
    for (const s of of(profile, 'ServiceMonitor')) expect(Object.keys(s.spec.selector.matchLabels).sort()).toEqual(SELECTOR_KEYS);
    // One name per component: no two Deployments select the same pods.
    const names = of(profile, 'Deployment').map((d) => d.spec.selector.matchLabels['app.kubernetes.io/name']);
    expect(new Set(names).size).toBe(names.length);
  });

  test('one Deployment per service, running its own entry of the image', () => {
    expect(of(profile, 'Deployment').map((d) => d.metadata.name).sort()).toEqual(SERVICES.map((s) => `kinora-${s}`).sort());
    for (const s of SERVICES) {
      const c = container(named(profile, 'Deployment', `kinora-${s}`));
      // The web app's static server is the gateway package's second entry (the bundle is in the same image).
      expect(c.command).toEqual(['node', s === 'web' ? 'apps/gateway/dist/web-main.js' : `apps/${s}/dist/main.js`]);
      expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    }
  });

  test('pods run as non-root with a read-only root filesystem, no capabilities, seccomp RuntimeDefault', () => {
    for (const d of of(profile, 'Deployment')) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.enableServiceLinks).toBe(false);
      const c = container(d);
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      // Writable places are emptyDirs: /tmp (KINORA_DATA_DIR lives there) and the transcoder's work dir.
      const mounts = new Map<string, string>(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]));
      const emptyDirs = new Set(pod.volumes.filter((v: { emptyDir?: unknown }) => v.emptyDir).map((v: { name: string }) => v.name));
      expect(emptyDirs.has(mounts.get('/tmp'))).toBe(true);
      expect(envOf(d).get('KINORA_DATA_DIR').value.startsWith('/tmp/')).toBe(true);
      if (d.metadata.name.endsWith('-transcoder')) {
        const workDir = envOf(d).get('TRANSCODE_WORK_DIR').value as string;
        expect(emptyDirs.has(mounts.get(workDir))).toBe(true);
        // The longest source it accepts is the chart's setting (config.transcode.maxDurationSec), 6 h by default.
        expect(envOf(d).get('TRANSCODE_MAX_DURATION_SEC').value).toBe('21600');
      }
    }
  });

  test('probes: liveness and startup on /healthz, readiness on /readyz', () => {
    for (const d of of(profile, 'Deployment')) {
      const c = container(d);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    }
  });

  test('each service is wired like npm run cluster: its upstreams, the identity key, its stores', () => {
    for (const s of SERVICES) {
      const env = envOf(named(profile, 'Deployment', `kinora-${s}`));
      const urls = [...env.keys()].filter((k) => k.endsWith('_SERVICE_URL')).sort();
      expect({ s, urls }).toEqual({ s, urls: UPSTREAMS[s]!.map((u) => `${u.toUpperCase()}_SERVICE_URL`).sort() });
      for (const u of UPSTREAMS[s]!) expect(env.get(`${u.toUpperCase()}_SERVICE_URL`).value).toBe(`http://kinora-${u}:8080`);
      // The web pods serve files only: no identity key, no database, no bus; their bundle is the image's.
      if (s === 'web') expect(env.has('GATEWAY_IDENTITY_SECRET')).toBe(false);
      else expect(env.get('GATEWAY_IDENTITY_SECRET').valueFrom.secretKeyRef.key).toBe('gateway-identity-secret');
      expect(env.has('WEB_ROOT') && env.get('WEB_ROOT').value).toBe(s === 'web' ? '/app/apps/web/dist' : false);
      expect(env.get('PUBLIC_URL').value).toMatch(/^https?:\/\//);
      expect(env.has('DATABASE_URL')).toBe(s !== 'gateway' && s !== 'web');
      expect(env.has('KAFKA_BROKERS')).toBe(s !== 'gateway' && s !== 'web');
      expect(env.has('STORAGE_URL')).toBe(s === 'video' || s === 'transcoder');
      expect(env.has('MEDIA_SIGNING_KEY')).toBe(s === 'video');
      if (env.has('STORAGE_URL')) expect(env.get('STORAGE_URL').value).toMatch(/^s3:\/\/[^/?]+\?/);
      if (env.has('KAFKA_BROKERS')) {
        expect(env.get('KAFKA_TOPIC_PARTITIONS').value).toMatch(/^\d+$/);
        expect(env.get('KAFKA_REPLICATION_FACTOR').value).toMatch(/^\d+$/);
      }
    }
  });

  test('custom resources match the vendored CRDs of Strimzi, prometheus-operator and CloudNativePG', () => {
    const dir = vendoredCrdsDir();
    const schemas = loadCrdSchemas(
      readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)),
      (f) => readFileSync(f, 'utf8'),
    );
    const custom = rendered.get(profile)!.filter((m) => /\.(strimzi\.io|coreos\.com|cnpg\.io)\//.test(m.apiVersion));
    expect(custom.length).toBeGreaterThan(0);
    for (const m of custom) {
      const schema = schemas.get(`${m.apiVersion} ${m.kind}`);
      expect({ object: `${m.kind}/${m.metadata.name}`, known: schema !== undefined }).toEqual({ object: `${m.kind}/${m.metadata.name}`, known: true });
      expect(crdProblems(m.spec, schema.properties.spec, `${m.kind}/${m.metadata.name}.spec`)).toEqual([]);
    }
  });

  test('resources are unset unless a profile sizes them', () => {
    for (const d of of(profile, 'Deployment')) {
      if (profile === 'prod') expect(container(d).resources).toBeDefined();
      else expect(container(d).resources).toBeUndefined();
    }
  });

  test('a helm test hook checks the gateway /readyz', () => {
    const pods = of(profile, 'Pod');
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.metadata.annotations!['helm.sh/hook']).toBe('test');
    const c = pod.spec.containers[0];
    expect(c.command.join(' ')).toContain('/readyz');
    expect(c.command.at(-1)).toBe('http://kinora-gateway:8080');
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });

  test('the Ingresses: API and media to the gateway, /socket.io to realtime with cookie affinity, uploads with a large body, / to the web app', () => {
    const ingresses = of(profile, 'Ingress');
    const route = (path: string) => {
      for (const ing of ingresses)
        for (const rule of ing.spec.rules)
          for (const p of rule.http.paths) if (p.path === path) return { ing, backend: p.backend.service.name as string };
      throw new Error(`${profile}: no Ingress path ${path}`);
    };
    for (const path of ['/api', '/.well-known', '/media', '/api/v1/uploads']) expect(route(path).backend).toBe('kinora-gateway');
    // Everything else is the web app's: its own static Deployment (index.html for the app's paths).
    expect(route('/').backend).toBe('kinora-web');
    const rt = route('/socket.io');
    expect(rt.backend).toBe('kinora-realtime');
    const a = rt.ing.metadata.annotations!;
    expect(a['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    expect(a['nginx.ingress.kubernetes.io/session-cookie-name']).toBeTruthy();
    expect(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(60);
    const up = route('/api/v1/uploads').ing.metadata.annotations!;
    expect(up['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('8g');
    expect(up['nginx.ingress.kubernetes.io/proxy-request-buffering']).toBe('off');
    const api = route('/api').ing.metadata.annotations!;
    expect(api['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('1m');
    expect(api['nginx.ingress.kubernetes.io/limit-rps']).toBe('20');
    for (const ing of ingresses) expect(ing.spec.ingressClassName).toBe('nginx');
    if (profile === 'prod' || profile === 'multiregion') for (const ing of ingresses) expect(ing.spec.tls).toHaveLength(1);
  });
});

describe('Kafka', () => {
  const expected = Object.values(TOPICS).flatMap((t) => [t, `${t}.dlq`]).sort();

  test.each(['default', 'dev', 'prod'] as const)('%s: a KafkaTopic per topic of TOPICS and its .dlq twin, sized from values', (profile) => {
    const topics = of(profile, 'KafkaTopic');
    expect(topics.map((t) => t.spec.topicName).sort()).toEqual(expected);
    const kafka = of(profile, 'Kafka');
    expect(kafka).toHaveLength(1);
    expect(kafka[0]!.apiVersion).toBe('kafka.strimzi.io/v1');
    const pools = of(profile, 'KafkaNodePool');
    expect(pools).toHaveLength(1);
    expect(pools[0]!.metadata.labels!['strimzi.io/cluster']).toBe(kafka[0]!.metadata.name);
    const sizes = { default: [12, 1], dev: [3, 1], prod: [12, 3] }[profile];
    for (const t of topics) {
      expect(t.apiVersion).toBe('kafka.strimzi.io/v1');
      expect(t.metadata.name).toMatch(DNS_1123);
      expect(t.metadata.name.length).toBeLessThanOrEqual(63);
      expect(t.metadata.labels!['strimzi.io/cluster']).toBe(kafka[0]!.metadata.name);
      expect([t.spec.partitions, t.spec.replicas]).toEqual(sizes);
    }
    const brokers = envOf(named(profile, 'Deployment', 'kinora-video')).get('KAFKA_BROKERS').value;
    expect(brokers).toBe(`${kafka[0]!.metadata.name}-kafka-bootstrap.kinora.svc:9092`);
  });

  test('external brokers: no Strimzi objects, KAFKA_BROKERS from values', () => {
    expect(of('multiregion', 'Kafka')).toHaveLength(0);
    expect(of('multiregion', 'KafkaTopic')).toHaveLength(0);
    expect(envOf(named('multiregion', 'Deployment', 'kinora-like')).get('KAFKA_BROKERS').value).toBe(
      'kafka-eu-0.kafka.internal:9092,kafka-eu-1.kafka.internal:9092,kafka-eu-2.kafka.internal:9092',
    );
  });
});

describe('PostgreSQL', () => {
  test('CloudNativePG: Cluster + Pooler per database; services read the <cluster>-app Secret and the -ro replicas', () => {
    expect(of('default', 'Cluster').map((c) => c.metadata.name)).toEqual(['kinora-pg-main']);
    expect(of('default', 'Pooler').map((p) => p.spec.cluster.name)).toEqual(['kinora-pg-main']);
    expect(of('default', 'Pooler')[0]!.spec.pgbouncer.poolMode).toBe('session');
    const env = envOf(named('default', 'Deployment', 'kinora-like'));
    expect(env.get('DB_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'kinora-pg-main-app', key: 'password' });
    expect(env.get('DATABASE_URL').value).toBe('postgresql://$(DB_USERNAME):$(DB_PASSWORD)@kinora-pg-main-pooler-rw.kinora.svc:5432/kinora');
    expect(env.get('DATABASE_REPLICA_URLS').value).toContain('@kinora-pg-main-ro.kinora.svc:5432/');
    // Without the pooler and with one instance: the Secret's uri, no replicas.
    const dev = envOf(named('dev', 'Deployment', 'kinora-like'));
    expect(dev.get('DATABASE_URL').valueFrom.secretKeyRef).toEqual({ name: 'kinora-pg-main-app', key: 'uri' });
    expect(dev.has('DATABASE_REPLICA_URLS')).toBe(false);
  });

  test('per-entity clusters with scheduled backups (multiregion)', () => {
    expect(of('multiregion', 'Cluster').map((c) => c.metadata.name).sort()).toEqual(['kinora-pg-analytics', 'kinora-pg-main', 'kinora-pg-users', 'kinora-pg-videos']);
    expect(of('multiregion', 'ScheduledBackup').map((b) => b.spec.cluster.name).sort()).toEqual(['kinora-pg-analytics', 'kinora-pg-main', 'kinora-pg-users', 'kinora-pg-videos']);
    for (const c of of('multiregion', 'Cluster')) expect(c.spec.backup.barmanObjectStore.destinationPath).toMatch(/^s3:\/\//);
    const dbOf = (s: string) => envOf(named('multiregion', 'Deployment', `kinora-${s}`)).get('DB_PASSWORD').valueFrom.secretKeyRef.name;
    expect([dbOf('user'), dbOf('video'), dbOf('analytics'), dbOf('comment')]).toEqual(['kinora-pg-users-app', 'kinora-pg-videos-app', 'kinora-pg-analytics-app', 'kinora-pg-main-app']);
  });

  test('external databases (prod): URLs from the named Secrets, no CloudNativePG objects', () => {
    expect(of('prod', 'Cluster')).toHaveLength(0);
    const env = envOf(named('prod', 'Deployment', 'kinora-user'));
    expect(env.get('DATABASE_URL').valueFrom.secretKeyRef).toEqual({ name: 'kinora-db-users', key: 'url' });
    expect(env.get('DATABASE_REPLICA_URLS').valueFrom.secretKeyRef).toEqual({ name: 'kinora-db-users', key: 'replica-urls' });
  });
});

describe('optional features', () => {
  test('defaults: PDBs on; HPA, ServiceMonitor, NetworkPolicy off', () => {
    expect(of('default', 'PodDisruptionBudget')).toHaveLength(SERVICES.length);
    for (const p of of('default', 'PodDisruptionBudget')) expect(p.spec.maxUnavailable).toBe(1);
    expect(of('default', 'HorizontalPodAutoscaler')).toHaveLength(0);
    expect(of('default', 'ServiceMonitor')).toHaveLength(0);
    expect(of('default', 'NetworkPolicy')).toHaveLength(0);
  });

  test('prod: HPAs drop the fixed replicas; ServiceMonitors scrape /metrics', () => {
    const hpas = of('prod', 'HorizontalPodAutoscaler');
    expect(hpas.length).toBeGreaterThan(0);
    for (const h of hpas) expect(named('prod', 'Deployment', h.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
    expect(of('prod', 'ServiceMonitor')).toHaveLength(SERVICES.length);
    for (const s of of('prod', 'ServiceMonitor')) expect(s.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
  });

  test('Grafana dashboards: off by default; prod ships one ConfigMap per dashboard file, labelled for the sidecar, JSON untouched', () => {
    const isDashboard = (m: Manifest): boolean => m.kind === 'ConfigMap' && m.metadata.name.startsWith('kinora-dashboard-');
    for (const profile of ['default', 'dev', 'multiregion'] as const) expect(rendered.get(profile)!.filter(isDashboard)).toHaveLength(0);
    const files = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(8);
    const maps = rendered.get('prod')!.filter(isDashboard);
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(files.map((f) => `kinora-dashboard-${f.replace(/\.json$/, '')}`));
    for (const m of maps) {
      const name = m.metadata.name.replace(/^kinora-dashboard-/, '');
      expect(m.metadata.namespace).toBe('kinora');
      expect(m.metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/instance': 'kinora' });
      expect(m.metadata.annotations).toEqual({ 'k8s-sidecar-target-directory': 'Kinora' });
      expect(Object.keys(m.data!)).toEqual([`kinora-${name}.json`]);
      const text = m.data![`kinora-${name}.json`]!;
      // Read raw: Grafana's own ${datasource} and {{legend}} templates reach it as written.
      expect(text + '\n').toBe(readFileSync(join(dashboardsDir, `${name}.json`), 'utf8'));
      expect((JSON.parse(text) as { uid: string }).uid).toBe(`kinora-${name}`);
      expect(text).toContain('${datasource}');
    }
  });

  test('Grafana dashboards: extra labels and annotations, another namespace, no folder annotation when no folder', async () => {
    const out = parseManifests(
      await template(helm, 'default', [
        '--set', 'metrics.dashboards.enabled=true',
        '--set', 'metrics.dashboards.labels.team=video',
        '--set', 'metrics.dashboards.annotations.owner=sre',
        '--set', 'metrics.dashboards.namespace=monitoring',
      ]),
    ).filter((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('kinora-dashboard-'));
    expect(out.length).toBeGreaterThanOrEqual(8);
    for (const m of out) {
      expect(m.metadata.namespace).toBe('monitoring');
      expect(m.metadata.labels).toMatchObject({ grafana_dashboard: '1', team: 'video' });
      expect(m.metadata.annotations).toEqual({ owner: 'sre' });
    }
    const folder = parseManifests(await template(helm, 'default', ['--set', 'metrics.dashboards.enabled=true', '--set', 'metrics.dashboards.folder=Video', '--set', 'metrics.dashboards.folderAnnotation=grafana_folder']));
    const overview = folder.find((m) => m.metadata.name === 'kinora-dashboard-overview')!;
    expect(overview.metadata.annotations).toEqual({ grafana_folder: 'Video' });
  });

  test('Grafana dashboards: the schema rejects an unknown key and a bad namespace', async () => {
    const unknown = await run(helm, ['template', 'kinora', chartDir, '--set', 'metrics.dashboards.folders=x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/folders/);
    const ns = await run(helm, ['template', 'kinora', chartDir, '--set', 'metrics.dashboards.namespace=Not_A_Namespace']);
    expect(ns.code).not.toBe(0);
    expect(ns.stderr).toMatch(/namespace/);
  });

  test('NetworkPolicies: only gateway, realtime and web accept the ingress controller; each service reaches only what it uses', () => {
    for (const profile of ['prod', 'multiregion'] as const) {
      for (const s of SERVICES) {
        const np = named(profile, 'NetworkPolicy', `kinora-${s}`);
        expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const fromController = np.spec.ingress.some((r: any) => r.from.some((p: any) => p.namespaceSelector && p.podSelector));
        expect({ s, fromController }).toEqual({ s, fromController: EDGE_FACING.includes(s) });
        const callers = SERVICES.filter((c) => UPSTREAMS[c]!.includes(s)).map((c) => `kinora-${c}`);
        const podPeers = np.spec.ingress
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .flatMap((r: any) => r.from)
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .filter((p: any) => p.podSelector && !p.namespaceSelector)
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/name'] as string)
          .filter((n: string) => n !== 'kinora-test');
        expect({ s, from: podPeers.sort() }).toEqual({ s, from: callers.sort() });
        const egressPods = np.spec.egress
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .flatMap((r: any) => r.to ?? [])
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .map((p: any) => p.podSelector?.matchLabels?.['app.kubernetes.io/name'])
          .filter(Boolean);
        expect({ s, to: egressPods.sort() }).toEqual({ s, to: UPSTREAMS[s]!.map((u) => `kinora-${u}`).sort() });
      }
    }
  });
});

describe('transcoder runner (services.transcoder.runner)', () => {
  const component = (ms: Manifest[], kind: string, svc: string): Manifest => {
    const m = ms.find((x) => x.kind === kind && x.metadata.labels?.['app.kubernetes.io/component'] === svc);
    if (!m) throw new Error(`no ${kind} of ${svc}`);
    return m;
  };

  test('local by default: no Role, no token, no TRANSCODE_RUNNER', () => {
    const ms = rendered.get('default')!;
    expect(ms.filter((m) => m.kind === 'Role' || m.kind === 'RoleBinding')).toHaveLength(0);
    for (const m of ms.filter((x) => x.kind === 'ServiceAccount')) expect((m as unknown as { automountServiceAccountToken: boolean }).automountServiceAccountToken).toBe(false);
    const d = component(ms, 'Deployment', 'transcoder');
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(envOf(d).has('TRANSCODE_RUNNER')).toBe(false);
  });

  test('kubernetes: a Role to create/get transcodejobs bound to the transcoder\'s account, its token alone, the env, API-server egress', async () => {
    const ms = parseManifests(
      await template(helm, 'prod', ['--set', 'services.transcoder.runner=kubernetes', '--set', 'services.transcoder.kubernetes.chunkSeconds=30', '--set', 'services.transcoder.kubernetes.image=registry.example/kinora-transcoder:1']),
    );
    const roles = ms.filter((m) => m.kind === 'Role');
    expect(roles).toHaveLength(1);
    const role = roles[0] as unknown as { metadata: { name: string; namespace: string }; rules: unknown[] };
    expect(role.metadata.namespace).toBe('kinora');
    expect(role.rules).toEqual([{ apiGroups: ['kinora.io'], resources: ['transcodejobs'], verbs: ['create', 'get'] }]);
    const binding = ms.find((m) => m.kind === 'RoleBinding') as unknown as { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> };
    const d = component(ms, 'Deployment', 'transcoder');
    const sa = d.spec.template.spec.serviceAccountName as string;
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'kinora' }]);
    // The token is mounted for the transcoder only.
    for (const m of ms.filter((x) => x.kind === 'ServiceAccount')) {
      const automount = (m as unknown as { automountServiceAccountToken: boolean }).automountServiceAccountToken;
      expect({ sa: m.metadata.name, automount }).toEqual({ sa: m.metadata.name, automount: m.metadata.name === sa });
    }
    for (const dep of ms.filter((x) => x.kind === 'Deployment')) {
      expect({ d: dep.metadata.name, automount: dep.spec.template.spec.automountServiceAccountToken }).toEqual({ d: dep.metadata.name, automount: dep === d });
    }
    const env = envOf(d);
    expect(env.get('TRANSCODE_RUNNER').value).toBe('kubernetes');
    expect(env.get('TRANSCODE_NAMESPACE').value).toBe('kinora');
    expect(env.get('TRANSCODE_CHUNK_SEC').value).toBe('30');
    expect(env.get('TRANSCODE_MAX_PARALLEL').value).toBe('4');
    expect(env.get('TRANSCODE_IMAGE').value).toBe('registry.example/kinora-transcoder:1');
    // prod has NetworkPolicies: the transcoder may reach the API server (443, 6443); the others may not.
    const egressPorts = (svc: string): number[] =>
      component(ms, 'NetworkPolicy', svc).spec.egress.flatMap((e: { ports?: Array<{ port: number }> }) => (e.ports ?? []).map((p) => p.port));
    expect(egressPorts('transcoder')).toEqual(expect.arrayContaining([443, 6443]));
    expect(egressPorts('comment')).not.toContain(6443);
  });

  test('refuses more than 20 attempts with runner kubernetes, and an unknown runner', async () => {
    const many = await run(helm, ['template', 'kinora', chartDir, '--set', 'services.transcoder.runner=kubernetes', '--set', 'config.transcode.maxAttempts=21']);
    expect(many.code).not.toBe(0);
    expect(many.stderr).toMatch(/maxAttempts must be at most 20 with services.transcoder.runner kubernetes/);
    expect((await run(helm, ['template', 'kinora', chartDir, '--set', 'config.transcode.maxAttempts=21'])).code).toBe(0);
    const bad = await run(helm, ['template', 'kinora', chartDir, '--set', 'services.transcoder.runner=k8s']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/runner/);
  });
});

describe('secrets', () => {
  test('generated once, kept on uninstall; absent when an existing Secret is named', () => {
    const secret = named('default', 'Secret', 'kinora-secrets');
    expect(secret.metadata.annotations!['helm.sh/resource-policy']).toBe('keep');
    for (const key of ['media-signing-key', 'gateway-identity-secret']) expect(Buffer.from(secret.data![key]!, 'base64').toString().length).toBeGreaterThanOrEqual(32);
    expect(of('prod', 'Secret')).toHaveLength(0);
    expect(envOf(named('prod', 'Deployment', 'kinora-video')).get('MEDIA_SIGNING_KEY').valueFrom.secretKeyRef.name).toBe('kinora-keys');
  });
});

describe('access-token signing keys (auth.jwt)', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const jwtVolume = (d: Manifest): any => d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'jwt-keys');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const jwtMount = (d: Manifest): any => container(d).volumeMounts.find((v: { name: string }) => v.name === 'jwt-keys');

  test('default: an Ed25519 key generated once by genPrivateKey, kept, that the user service reads', async () => {
    const secret = named('default', 'Secret', 'kinora-jwt-keys');
    expect(secret.metadata.annotations!['helm.sh/resource-policy']).toBe('keep');
    expect(Object.keys(secret.data!)).toEqual(['active.pem']);
    const pem = Buffer.from(secret.data!['active.pem']!, 'base64').toString();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    // The very reader of the user service accepts it.
    const dir = mkdtempSync(join(tmpdir(), 'kinora-chart-jwt-'));
    try {
      writeFileSync(join(dir, 'active.pem'), pem);
      const keys = await readKeyDir(dir);
      expect(keys.signer.alg).toBe('EdDSA');
      expect(keys.signer.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('default: only the user pods mount the Secret, read-only, whole (so updates reach them), with JWT_KEYS_DIR', () => {
    const user = named('default', 'Deployment', 'kinora-user');
    expect(jwtVolume(user)).toEqual({ name: 'jwt-keys', secret: { secretName: 'kinora-jwt-keys', defaultMode: 0o440 } });
    expect(jwtMount(user)).toEqual({ name: 'jwt-keys', mountPath: '/var/run/secrets/kinora/jwt-keys', readOnly: true });
    expect(envOf(user).get('JWT_KEYS_DIR')).toEqual({ name: 'JWT_KEYS_DIR', value: '/var/run/secrets/kinora/jwt-keys' });
    for (const svc of SERVICES.filter((s) => s !== 'user')) {
      const d = named('default', 'Deployment', `kinora-${svc}`);
      expect({ svc, volume: jwtVolume(d), env: envOf(d).has('JWT_KEYS_DIR') }).toEqual({ svc, volume: undefined, env: false });
    }
  });

  test('prod: an existing Secret is mounted and none is generated', () => {
    expect(of('prod', 'Secret').filter((s) => s.metadata.name.includes('jwt'))).toHaveLength(0);
    expect(jwtVolume(named('prod', 'Deployment', 'kinora-user')).secret.secretName).toBe('kinora-jwt-keys');
  });

  test('multiregion (keysFrom database): no Secret, no mount, no JWT_KEYS_DIR', () => {
    const user = named('multiregion', 'Deployment', 'kinora-user');
    expect(of('multiregion', 'Secret').filter((s) => s.metadata.name.includes('jwt'))).toHaveLength(0);
    expect(jwtVolume(user)).toBeUndefined();
    expect(envOf(user).has('JWT_KEYS_DIR')).toBe(false);
  });

  test('the schema refuses another key source and a bad Secret name', async () => {
    for (const set of ['auth.jwt.keysFrom=vault', 'auth.jwt.existingSecret=Not_A_Name']) {
      const r = await run(helm, ['template', 'kinora', chartDir, '--set', set]);
      expect({ set, code: r.code }).toEqual({ set, code: 1 });
      expect(r.stderr).toMatch(/auth\.jwt|keysFrom|existingSecret/);
    }
  });
});

describe('Redis Sentinel (redis.sentinel)', () => {
  const REDIS_USERS = ['gateway', 'analytics', 'realtime'];
  const sentinelArgs = [
    '--set', 'redis.sentinel.enabled=true',
    '--set', 'redis.sentinel.hosts={redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26380}',
    '--set', 'redis.sentinel.masterName=kinora',
    '--set', 'redis.existingSecret=kinora-redis',
    '--set', 'redis.sentinel.passwordKey=redis-password',
    '--set', 'redis.sentinel.sentinelPasswordKey=sentinel-password',
    '--set', 'networkPolicy.enabled=true',
  ];

  test('every Redis user gets the Sentinels, the master name and the passwords from the Secret, and no REDIS_URL', async () => {
    const out = parseManifests(await template(helm, 'default', sentinelArgs));
    for (const svc of SERVICES) {
      const env = envOf(out.find((m) => m.kind === 'Deployment' && m.metadata.name === `kinora-${svc}`)!);
      if (!REDIS_USERS.includes(svc)) {
        expect({ svc, sentinels: env.has('REDIS_SENTINELS') }).toEqual({ svc, sentinels: false });
        continue;
      }
      expect(env.has('REDIS_URL')).toBe(false);
      expect(env.get('REDIS_SENTINELS').value).toBe('redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26380');
      expect(env.get('REDIS_SENTINEL_MASTER').value).toBe('kinora');
      expect(env.get('REDIS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'kinora-redis', key: 'redis-password' });
      expect(env.get('REDIS_SENTINEL_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'kinora-redis', key: 'sentinel-password' });
      // The NetworkPolicy lets it reach the Sentinels' ports and the data nodes'.
      const np = out.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === `kinora-${svc}`)!;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const ports = np.spec.egress.flatMap((r: any) => (r.ports ?? []).map((p: { port: number }) => p.port));
      expect(ports).toEqual(expect.arrayContaining([26379, 26380, 6379]));
    }
  });

  test('TLS: REDIS_SENTINEL_TLS with redis.sentinel.tls, REDIS_TLS_CA from the Secret; a CA without TLS fails the render', async () => {
    const out = parseManifests(await template(helm, 'default', [...sentinelArgs, '--set', 'redis.sentinel.tls=true', '--set', 'redis.tlsCaKey=ca.crt']));
    for (const svc of REDIS_USERS) {
      const env = envOf(out.find((m) => m.kind === 'Deployment' && m.metadata.name === `kinora-${svc}`)!);
      expect(env.get('REDIS_SENTINEL_TLS').value).toBe('true');
      expect(env.get('REDIS_TLS_CA').valueFrom.secretKeyRef).toEqual({ name: 'kinora-redis', key: 'ca.crt' });
    }
    const plainDefault = envOf(parseManifests(await template(helm, 'default', sentinelArgs)).find((m) => m.kind === 'Deployment' && m.metadata.name === 'kinora-gateway')!);
    expect([plainDefault.has('REDIS_SENTINEL_TLS'), plainDefault.has('REDIS_TLS_CA')]).toEqual([false, false]);
    const url = envOf(
      parseManifests(await template(helm, 'default', ['--set', 'redis.existingSecret=kinora-redis', '--set', 'redis.tlsCaKey=ca.crt'])).find(
        (m) => m.kind === 'Deployment' && m.metadata.name === 'kinora-gateway',
      )!,
    );
    expect(url.get('REDIS_TLS_CA').valueFrom.secretKeyRef).toEqual({ name: 'kinora-redis', key: 'ca.crt' });

    const noTls = await run(helm, ['template', 'kinora', chartDir, ...sentinelArgs, '--set', 'redis.tlsCaKey=ca.crt']);
    expect(noTls.code).not.toBe(0);
    expect(noTls.stderr).toContain('redis.tlsCaKey is for Redis over TLS: set redis.sentinel.tls=true');
    const plainUrl = await run(helm, ['template', 'kinora', chartDir, '--set', 'redis.url=redis://redis:6379', '--set', 'redis.tlsCaKey=ca.crt']);
    expect(plainUrl.code).not.toBe(0);
    expect(plainUrl.stderr).toContain('redis.tlsCaKey is for Redis over TLS: use a rediss:// redis.url');
    const noSecret = await run(helm, ['template', 'kinora', chartDir, '--set', 'redis.url=rediss://redis:6380', '--set', 'redis.tlsCaKey=ca.crt']);
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toContain('redis.existingSecret names the Secret of REDIS_TLS_CA');
  });

  test('without passwords no secret is referenced; a Sentinel without hosts or with a bad host fails the render', async () => {
    const out = parseManifests(await template(helm, 'default', ['--set', 'redis.sentinel.enabled=true', '--set', 'redis.sentinel.hosts={s:26379}']));
    const env = envOf(out.find((m) => m.kind === 'Deployment' && m.metadata.name === 'kinora-gateway')!);
    expect([...env.keys()].filter((k) => k.startsWith('REDIS_')).sort()).toEqual(['REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER']);
    expect(env.get('REDIS_SENTINEL_MASTER').value).toBe('mymaster');
    const noHosts = await run(helm, ['template', 'kinora', chartDir, '--set', 'redis.sentinel.enabled=true']);
    expect(noHosts.code).not.toBe(0);
    expect(noHosts.stderr).toMatch(/sentinel\/hosts/);
    const badHost = await run(helm, ['template', 'kinora', chartDir, '--set', 'redis.sentinel.enabled=true', '--set', 'redis.sentinel.hosts={sentinel}']);
    expect(badHost.code).not.toBe(0);
    expect(badHost.stderr).toMatch(/sentinel\/hosts/);
    const noSecret = await run(helm, ['template', 'kinora', chartDir, '--set', 'redis.sentinel.enabled=true', '--set', 'redis.sentinel.hosts={s:26379}', '--set', 'redis.sentinel.passwordKey=pw']);
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toContain('redis.existingSecret names the Secret of REDIS_PASSWORD');
  });
});

describe('docs', () => {
  test('charts/kinora/README.md carries the current values table', async () => {
    const r = await run(process.execPath, [join(chartsDir, 'scripts', 'readme-table.mjs'), '--check', chartDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('values edge cases', () => {
  test('a database added with only instances and storage renders, with the Pooler defaults', async () => {
    const out = parseManifests(
      await template(helm, 'default', [
        '--set', 'postgresql.cnpg.clusters.extra.instances=1',
        '--set', 'postgresql.cnpg.clusters.extra.storage.size=1Gi',
        '--set', 'postgresql.cnpg.clusters.extra.pooler.enabled=true',
        '--set', 'services.like.database=extra',
      ]),
    );
    const pooler = out.find((m) => m.kind === 'Pooler' && m.spec.cluster.name === 'kinora-pg-extra');
    expect(pooler?.spec).toMatchObject({ instances: 2, type: 'rw', pgbouncer: { poolMode: 'session' } });
    const like = out.find((m) => m.kind === 'Deployment' && m.metadata.name === 'kinora-like')!;
    expect(envOf(like).get('DATABASE_URL').value).toContain('@kinora-pg-extra-pooler-rw.kinora.svc:5432/');
    expect(envOf(like).has('DATABASE_REPLICA_URLS')).toBe(false);
  });

  test('a service pointed at an unknown database fails the render with the value named', async () => {
    const r = await run(helm, ['template', 'kinora', chartDir, '--set', 'services.like.database=nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('services.like.database');
  });

  test('a disabled service disappears from every object, its callers and the NetworkPolicies', async () => {
    const out = parseManifests(await template(helm, 'default', ['--set', 'services.realtime.enabled=false', '--set', 'networkPolicy.enabled=true']));
    expect(out.filter((m) => m.metadata.name === 'kinora-realtime')).toHaveLength(0);
    expect(out.filter((m) => m.kind === 'Ingress').map((m) => m.metadata.name).sort()).toEqual(['kinora-api', 'kinora-media', 'kinora-uploads', 'kinora-web']);
    const gw = out.find((m) => m.kind === 'Deployment' && m.metadata.name === 'kinora-gateway')!;
    expect(envOf(gw).has('REALTIME_SERVICE_URL')).toBe(false);
  });
});
