// The rendered charts against a real kube-apiserver (the harness's, with the vendored CRDs of Strimzi,
// prometheus-operator and CloudNativePG): every profile passes `kubectl apply --dry-run=server`, i.e. the API
// server and the operators' CRD schemas accept every object. Also checks that the generated secrets are read back
// from the cluster (`lookup`) instead of being made anew on an upgrade.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ensureHelm, startKubernetes, vendoredCrdsDir } from '@kinora/testing';
import { PROFILES, buildDependencies, chartDir, parseManifests, profileArgs, runOk, template, type Profile } from './helm.js';

type Kubernetes = Awaited<ReturnType<typeof startKubernetes>>;

let helm: string;
let k8s: Kubernetes | undefined;

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await k8s!.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

beforeAll(async () => {
  helm = process.env['KINORA_HELM'] ?? (await ensureHelm());
  await buildDependencies(helm);
  k8s = await startKubernetes();
  await k8s.applyCrds(vendoredCrdsDir());
}, 600_000);

afterAll(async () => {
  await k8s?.stop();
}, 120_000);

const namespaceOf = (profile: Profile): string => `kinora-${profile}`;

describe.each(PROFILES)('profile %s', (profile) => {
  test('every object passes a server-side dry run', async () => {
    const ns = namespaceOf(profile);
    await kubectlOk(['create', 'namespace', ns]);
    // A real cluster's service-account controller gives every namespace its `default` account; this API server runs
    // without controllers, and the helm test Pod (which mounts no token) is admitted only if the account exists.
    await kubectlOk(['create', 'serviceaccount', 'default', '--namespace', ns]);
    const manifest = await template(helm, profile, [], 'kinora', ns);
    const objects = parseManifests(manifest);
    expect(objects.length).toBeGreaterThan(30);
    // prod carries the PrometheusRule, so the prometheus-operator CRD's schema checks the alert rules too.
    if (profile === 'prod') expect(objects.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(1);
    const r = await k8s!.kubectl(['apply', '--dry-run=server', '--namespace', ns, '-f', '-'], manifest);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // kubectl names every object it accepted: one line each.
    const accepted = r.stdout.split('\n').filter((l: string) => /\(server dry run\)$/.test(l));
    expect(accepted).toHaveLength(objects.length);
    // The web app's static Deployment, its Service and the Ingress of `/` are among them.
    for (const object of ['deployment.apps/kinora-web', 'service/kinora-web', 'ingress.networking.k8s.io/kinora-web']) {
      expect({ object, accepted: accepted.some((l: string) => l.startsWith(`${object} `)) }).toEqual({ object, accepted: true });
    }
  }, 120_000);
});

test('the transcoder with runner kubernetes (Role, RoleBinding, its token, API-server egress) passes a server-side dry run', async () => {
  const ns = 'kinora-runner';
  await kubectlOk(['create', 'namespace', ns]);
  await kubectlOk(['create', 'serviceaccount', 'default', '--namespace', ns]);
  const manifest = await template(helm, 'prod', ['--set', 'services.transcoder.runner=kubernetes'], 'kinora', ns);
  const objects = parseManifests(manifest);
  expect(objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toHaveLength(2);
  const r = await k8s!.kubectl(['apply', '--dry-run=server', '--namespace', ns, '-f', '-'], manifest);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').filter((l: string) => /\(server dry run\)$/.test(l))).toHaveLength(objects.length);
}, 120_000);

/**
 * An upgrade's render after the first install: `name` exists in a fresh namespace `ns` as that install left it
 * (owned by the release, holding `stringData`), and the chart is rendered against the cluster (`lookup` sees it).
 * Returns the decoded data of the Secret `name` in that render (undefined when it renders none).
 */
async function upgradeRenderOfLiveSecret(ns: string, name: string, stringData: Record<string, string>): Promise<Record<string, string> | undefined> {
  await kubectlOk(['create', 'namespace', ns]);
  await kubectlOk(
    ['apply', '--namespace', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: { 'meta.helm.sh/release-name': 'kinora', 'meta.helm.sh/release-namespace': ns },
      },
      type: 'Opaque',
      stringData,
    }),
  );
  const rendered = parseManifests(
    await runOk(helm, ['template', 'kinora', chartDir, '--namespace', ns, '--dry-run=server', '--is-upgrade', '--kubeconfig', k8s!.kubeconfig, ...profileArgs('default')]),
  );
  const secret = rendered.find((m) => m.kind === 'Secret' && m.metadata.name === name);
  return secret && Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

test('the generated secrets are kept: a render against the cluster reuses the live Secret', async () => {
  const media = 'm'.repeat(40);
  const identity = 'i'.repeat(40);
  const data = await upgradeRenderOfLiveSecret('kinora-upgrade', 'kinora-secrets', { 'media-signing-key': media, 'gateway-identity-secret': identity });
  expect(data).toBeDefined();
  expect(data!['media-signing-key']).toBe(media);
  expect(data!['gateway-identity-secret']).toBe(identity);
}, 120_000);

test('the generated JWT signing-key Secret is kept on an upgrade, with the keys added to it by hand', async () => {
  const active = '-----BEGIN PRIVATE KEY-----\nactive\n-----END PRIVATE KEY-----\n';
  const previous = '-----BEGIN PRIVATE KEY-----\nprevious\n-----END PRIVATE KEY-----\n';
  // A rotation in progress: the new key active, the old one still published.
  const data = await upgradeRenderOfLiveSecret('kinora-upgrade-jwt', 'kinora-jwt-keys', { 'active.pem': active, 'previous.pem': previous });
  expect(data).toEqual({ 'active.pem': active, 'previous.pem': previous });
}, 120_000);
