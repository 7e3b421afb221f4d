// Shared by the chart tests: run helm, render a profile, parse the manifests.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoDir = fileURLToPath(new URL('../../', import.meta.url));
export const chartsDir = join(repoDir, 'charts');
export const chartDir = join(chartsDir, 'kinora');
export const commonChartDir = join(chartsDir, 'kinora-common');

/** The profiles every test renders: the defaults and each `ci/*-values.yaml`. */
export const PROFILES = ['default', 'dev', 'prod', 'multiregion'] as const;
export type Profile = (typeof PROFILES)[number];

export function profileArgs(profile: Profile): string[] {
  return profile === 'default' ? [] : ['-f', join(chartDir, 'ci', `${profile}-values.yaml`)];
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoDir, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: err && !stderr ? String(err.message) : stderr });
    });
  });
}

export async function runOk(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(command, args, env);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `helm dependency build` vendors kinora-common into charts/kinora/charts/ (git-ignored), as every render needs it. */
export async function buildDependencies(helm: string): Promise<void> {
  await runOk(helm, ['dependency', 'build', chartDir]);
}

export async function template(helm: string, profile: Profile, extra: string[] = [], release = 'kinora', namespace = 'kinora'): Promise<string> {
  return runOk(helm, ['template', release, chartDir, '--namespace', namespace, ...profileArgs(profile), ...extra]);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

export function parseManifests(text: string): Manifest[] {
  const docs = parseAllDocuments(text);
  const out: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML in the rendered chart: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value) out.push(value);
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = any;

/** The openAPIV3Schema of every served version of every CRD in `dir`, by `apiVersion` + kind. */
export function loadCrdSchemas(files: string[], read: (f: string) => string): Map<string, Schema> {
  const out = new Map<string, Schema>();
  for (const f of files) {
    for (const crd of parseAllDocuments(read(f)).map((d) => d.toJS() as Schema)) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions) if (v.served) out.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, v.schema.openAPIV3Schema);
    }
  }
  return out;
}

/**
 * The structural part of what the API server checks against a CRD: types, enums, required fields and no unknown
 * fields (kubectl validates strictly). CEL rules and formats are left to the server-side dry run.
 */
export function crdProblems(value: unknown, schema: Schema, path: string): string[] {
  const out: string[] = [];
  if (value === null || value === undefined || !schema) return out;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'number' && typeof value !== 'string') out.push(`${path}: integer or string expected`);
    return out;
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: object expected`];
      const obj = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in obj)) out.push(`${path}: ${r} is required`);
      for (const [k, v] of Object.entries(obj)) {
        if (schema.properties && k in schema.properties) out.push(...crdProblems(v, schema.properties[k], `${path}.${k}`));
        else if (typeof schema.additionalProperties === 'object') out.push(...crdProblems(v, schema.additionalProperties, `${path}.${k}`));
        else if (!schema['x-kubernetes-preserve-unknown-fields']) out.push(`${path}: unknown field ${k}`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: array expected`];
      value.forEach((x, i) => out.push(...crdProblems(x, schema.items, `${path}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') out.push(`${path}: string expected, got ${JSON.stringify(value)}`);
      else if (schema.enum && !schema.enum.includes(value)) out.push(`${path}: ${value} is not one of ${schema.enum.join(', ')}`);
      break;
    case 'integer':
      if (!Number.isInteger(value)) out.push(`${path}: integer expected, got ${JSON.stringify(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: boolean expected`);
      break;
  }
  return out;
}
