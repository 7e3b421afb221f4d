// Shared by the operator's integration tests: a real control plane (etcd + kube-apiserver +
// kube-controller-manager, from @kinora/testing) with the operator's CRDs and the vendored Strimzi CRDs.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKubernetes, vendoredCrdsDir, waitUntil, type KubernetesHandle } from '@kinora/testing';
import { KubeClient } from '../../src/runtime/kube-client.js';

export const operatorDir = fileURLToPath(new URL('../../', import.meta.url));
export const repoDir = join(operatorDir, '..', '..');
export const crdDir = join(repoDir, 'charts', 'kinora-operator', 'crds');

export interface TestCluster {
  k8s: KubernetesHandle;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startTestCluster(opts: { strimzi?: boolean } = {}): Promise<TestCluster> {
  const k8s = await startKubernetes({ controllerManager: true });
  try {
    await k8s.applyCrds(crdDir);
    if (opts.strimzi) await k8s.applyCrds(vendoredCrdsDir());
    const client = await KubeClient.load(k8s.kubeconfig);
    return {
      k8s,
      client,
      async stop() {
        client.close();
        await k8s.stop();
      },
    };
  } catch (err) {
    await k8s.stop();
    throw err;
  }
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create({ apiVersion: 'v1', plural: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // No service-account controller token needed: Jobs' Pods do not mount a token; the `default` account must exist.
  await waitUntil(`default ServiceAccount in ${name}`, async () => (await client.find({ apiVersion: 'v1', plural: 'serviceaccounts', namespace: name, name: 'default' })) !== undefined, {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
}

/** Polls `fn` until it returns a value that is not undefined/false; the last seen value is in the error. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
