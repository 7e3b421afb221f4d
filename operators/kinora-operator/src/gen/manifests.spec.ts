import { describe, expect, it } from '@jest/globals';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KINDS } from '../api/v1alpha1/index.js';
import { buildCrd, toOpenApi } from './crd.generator.js';
import { generatedFiles } from './manifests.js';
import { Type } from '@sinclair/typebox';

const chartDir = join(new URL('.', import.meta.url).pathname, '..', '..', '..', '..', 'charts', 'kinora-operator');

describe('generated CRDs and RBAC', () => {
  it('the committed files are current (run npm run generate -w @kinora/kinora-operator when this fails)', () => {
    const stale: string[] = [];
    for (const [rel, text] of generatedFiles()) {
      const file = join(chartDir, rel);
      if (!existsSync(file) || readFileSync(file, 'utf8') !== text) stale.push(rel);
    }
    expect(stale).toEqual([]);
  });

  it('every kind has a status subresource, printer columns and a structural schema', () => {
    for (const def of KINDS) {
      const crd = buildCrd(def) as { spec: { versions: { subresources: unknown; additionalPrinterColumns: { name: string }[]; schema: { openAPIV3Schema: { properties: Record<string, { type?: string }> } } }[] } };
      const v = crd.spec.versions[0]!;
      expect(v.subresources).toEqual({ status: {} });
      expect(v.additionalPrinterColumns.map((c) => c.name)).toContain('Age');
      expect(v.schema.openAPIV3Schema.properties['spec']!.type).toBe('object');
      expect(v.schema.openAPIV3Schema.properties['status']!.type).toBe('object');
    }
    const tj = parse(generatedFiles().get('crds/kinora.io_transcodejobs.yaml')!);
    expect(tj.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['Video', 'Phase', 'Progress', 'Attempts', 'Chunks', 'Failure', 'Age']);
  });

  it('keeps validation keywords and drops TypeBox markers', () => {
    const out = toOpenApi(Type.Object({ a: Type.Integer({ minimum: 1, default: 3 }), b: Type.Optional(Type.String({ pattern: '^x$' })) }, { $id: 'X' })) as Record<string, unknown>;
    expect(out).toEqual({ type: 'object', required: ['a'], properties: { a: { type: 'integer', minimum: 1, default: 3 }, b: { type: 'string', pattern: '^x$' } } });
  });

  it('the ClusterRole covers the kinds, their status, and what the controllers touch', () => {
    const rules = parse(generatedFiles().get('files/clusterrole-rules.yaml')!) as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const can = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(can('kinora.io', 'transcodejobs/status', 'patch')).toBe(true);
    expect(can('batch', 'jobs', 'create')).toBe(true);
    expect(can('apps', 'deployments', 'patch')).toBe(true);
    expect(can('kafka.strimzi.io', 'kafkatopics', 'patch')).toBe(true);
    expect(can('coordination.k8s.io', 'leases', 'update')).toBe(true);
    expect(can('', 'secrets', 'list')).toBe(false);
  });
});
