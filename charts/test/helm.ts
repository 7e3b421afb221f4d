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
