import { API_VERSION, type OwnerReference } from '../api/v1alpha1/common.types.js';

/** The ownerReference that makes a child garbage-collected with its custom resource, and routes its events back. */
export function ownerRef(owner: { kind: string; metadata: { name: string; uid?: string } }): OwnerReference {
  if (!owner.metadata.uid) throw new Error(`${owner.kind} ${owner.metadata.name} has no uid`);
  return { apiVersion: API_VERSION, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Labels every child carries: selectors use only name + instance. */
export function childLabels(owner: { kind: string; metadata: { name: string } }, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': `kinora-${component}`,
    'app.kubernetes.io/instance': owner.metadata.name,
    'app.kubernetes.io/managed-by': 'kinora-operator',
    'app.kubernetes.io/part-of': 'kinora',
    'app.kubernetes.io/component': component,
    [`kinora.io/${owner.kind.toLowerCase()}`]: owner.metadata.name,
  };
}

export function selectorLabels(owner: { metadata: { name: string } }, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': `kinora-${component}`, 'app.kubernetes.io/instance': owner.metadata.name };
}

/** A DNS-1123 label from arbitrary text (dots and underscores to dashes, at most 63 characters). */
export function dnsLabel(text: string, max = 63): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
}

/** The restricted pod security settings every child runs with. */
export const POD_SECURITY = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };
export const CONTAINER_SECURITY = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
