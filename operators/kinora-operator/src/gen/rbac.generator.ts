import { GROUP } from '../api/v1alpha1/common.types.js';
import { KINDS } from '../api/v1alpha1/index.js';
import { CONTROLLER_PERMISSIONS, type PolicyRule } from '../rbac.js';

/**
 * The ClusterRole rules of the operator: its own kinds (with status and finalizers) and what each controller
 * declares it touches. Rules of the same API group and resources are merged, verbs sorted, so the output is stable.
 */
export function buildRbacRules(): PolicyRule[] {
  const own: PolicyRule[] = [
    { apiGroups: [GROUP], resources: KINDS.map((k) => k.plural), verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    { apiGroups: [GROUP], resources: KINDS.map((k) => `${k.plural}/status`), verbs: ['get', 'update', 'patch'] },
    { apiGroups: [GROUP], resources: KINDS.map((k) => `${k.plural}/finalizers`), verbs: ['update'] },
  ];
  const merged = new Map<string, PolicyRule>();
  for (const rule of [...own, ...CONTROLLER_PERMISSIONS]) {
    const key = `${rule.apiGroups.join(',')}|${[...rule.resources].sort().join(',')}`;
    const prev = merged.get(key);
    const verbs = new Set([...(prev?.verbs ?? []), ...rule.verbs]);
    merged.set(key, { apiGroups: [...rule.apiGroups], resources: [...rule.resources].sort(), verbs: [...verbs].sort() });
  }
  return [...merged.values()].sort((a, b) => (a.apiGroups[0]! + a.resources[0]! < b.apiGroups[0]! + b.resources[0]! ? -1 : 1));
}
