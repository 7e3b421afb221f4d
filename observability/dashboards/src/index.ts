// Kinora's Grafana dashboards, as code. `npm run dashboards` writes them to charts/kinora/files/dashboards/, which
// the chart ships as ConfigMaps for Grafana's dashboard sidecar (`metrics.dashboards.enabled`); a test compares the
// committed files with a fresh render.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboard, type DashboardSpec } from './grafana.js';
import { counters } from './dashboards/counters.js';
import { gateway } from './dashboards/gateway.js';
import { kafka } from './dashboards/kafka.js';
import { overview } from './dashboards/overview.js';
import { postgres } from './dashboards/postgres.js';
import { realtime } from './dashboards/realtime.js';
import { services } from './dashboards/services.js';
import { transcoding } from './dashboards/transcoding.js';

export { buildDashboard, DATASOURCE, RUNBOOKS_URL, TAG } from './grafana.js';
export type { DashboardSpec, PanelSpec, Query, Section, VariableSpec } from './grafana.js';

/** Every dashboard, in the order of the links between them. */
export const DASHBOARDS: readonly DashboardSpec[] = [overview, gateway, services, kafka, counters, transcoding, realtime, postgres];

/** The file each dashboard is written to, under charts/kinora/files/dashboards/. */
export const fileName = (spec: DashboardSpec): string => `${spec.name}.json`;

/** Dashboard JSON as committed: two-space indents, a final newline, nothing that changes between runs. */
export function toJson(dashboard: Dashboard): string {
  return JSON.stringify(dashboard, null, 2) + '\n';
}

/** File name → contents of every dashboard. */
export function renderDashboards(specs: readonly DashboardSpec[] = DASHBOARDS): Map<string, string> {
  return new Map(specs.map((s) => [fileName(s), toJson(buildDashboard(s))]));
}

/**
 * Writes `files` into `dir` (created if missing): files whose contents differ are (re)written, `.json` files of
 * dashboards that no longer exist are removed. Returns what it did, one line per file.
 */
export function writeDashboards(dir: string, files: Map<string, string> = renderDashboards()): string[] {
  mkdirSync(dir, { recursive: true });
  const done: string[] = [];
  for (const old of readdirSync(dir).sort()) {
    if (old.endsWith('.json') && !files.has(old)) {
      rmSync(join(dir, old));
      done.push(`removed ${old}`);
    }
  }
  for (const [name, text] of files) {
    const file = join(dir, name);
    const same = existsSync(file) && readFileSync(file, 'utf8') === text;
    if (!same) writeFileSync(file, text);
    done.push(`${same ? 'unchanged' : 'wrote'} ${name}`);
  }
  return done;
}
