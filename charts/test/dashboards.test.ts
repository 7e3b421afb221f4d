// The Grafana dashboards the chart ships (charts/kinora/files/dashboards/*.json): the committed files are what the
// TypeScript sources (observability/dashboards) render now, and each dashboard is well formed: unique uids and panel
// ids, Prometheus queries on the `datasource` variable, a grid without overlaps, only variables that exist, units and
// descriptions, runbook links to sections that exist. Which metrics the queries name is checked against the running
// services in apps/kinora/test/integration/alert-metrics.test.ts. promtool (KINORA_PROMTOOL, else the harness's)
// parses every query, Grafana variables replaced by sample values.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { dashboardQueries, ensurePromtool } from '@kinora/testing';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DASHBOARDS, RUNBOOKS_URL, renderDashboards, writeDashboards } from '../../observability/dashboards/src/index.js';
import { chartDir, repoDir, run } from './helm.js';

const dashboardsDir = join(chartDir, 'files', 'dashboards');

/** Problems of the committed files against a fresh render: missing, different or left-over files. */
export function staleDashboards(dir: string, rendered: Map<string, string>): string[] {
  const out: string[] = [];
  const rel = relative(repoDir, dir);
  for (const [name, text] of rendered) {
    const file = join(dir, name);
    if (!existsSync(file)) out.push(`${rel}/${name} is missing: run \`npm run dashboards\``);
    else if (readFileSync(file, 'utf8') !== text) out.push(`${rel}/${name} is out of date with observability/dashboards: run \`npm run dashboards\``);
  }
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (name.endsWith('.json') && !rendered.has(name)) out.push(`${rel}/${name} has no source in observability/dashboards: run \`npm run dashboards\` (it removes it)`);
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Box {
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Every panel, rows' children included. */
function allPanels(d: Json): Json[] {
  return (d.panels ?? []).flatMap((p: Json) => [p, ...(p.panels ?? [])]);
}

/** Grafana variables an expression refers to (`$x`, `${x}`, `${x:fmt}`, `[[x]]`), built-ins (`$__…`) excepted. */
export function variablesUsed(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]/g)) {
    const name = (m[1] ?? m[2] ?? m[3])!;
    if (!name.startsWith('__')) out.add(name);
  }
  return [...out].sort();
}

/** Everything wrong with one dashboard (an empty list when it is well formed). */
export function dashboardProblems(d: Json, runbookAnchors: Set<string>): string[] {
  const out: string[] = [];
  const title = d.title ?? '(untitled)';
  const panels = allPanels(d);
  const ids = panels.map((p) => p.id);
  const dupIds = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupIds.length > 0) out.push(`${title}: panel ids repeated: ${[...new Set(dupIds)].join(', ')}`);
  if (ids.some((id) => !Number.isInteger(id) || id < 1)) out.push(`${title}: a panel has no positive integer id`);

  const variables = new Set<string>((d.templating?.list ?? []).map((v: Json) => v.name));
  const ds = (d.templating?.list ?? []).find((v: Json) => v.name === 'datasource');
  if (!ds || ds.type !== 'datasource' || ds.query !== 'prometheus') out.push(`${title}: no \`datasource\` variable of type prometheus`);

  const check = (where: string, text: string): void => {
    for (const v of variablesUsed(text)) if (!variables.has(v)) out.push(`${where}: refers to $${v}, which is no variable of the dashboard`);
  };
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    if (v.datasource?.uid !== '${datasource}') out.push(`${title} / variable ${v.name}: datasource is not \${datasource}`);
    check(`${title} / variable ${v.name}`, typeof v.query === 'string' ? v.query : JSON.stringify(v.query));
  }

  const boxes: Box[] = [];
  for (const p of panels) {
    const where = `${title} / ${p.title ?? p.id}`;
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24) {
      out.push(`${where}: gridPos ${JSON.stringify(g)} is not inside the 24-column grid`);
    } else {
      boxes.push({ id: p.id, ...g });
    }
    if (p.type === 'row') continue;
    if (p.datasource?.uid !== '${datasource}' || p.datasource?.type !== 'prometheus') out.push(`${where}: datasource is not the \${datasource} variable`);
    if (!p.description) out.push(`${where}: no description`);
    if (!p.fieldConfig?.defaults?.unit) out.push(`${where}: no unit`);
    const targets: Json[] = p.targets ?? [];
    if (targets.length === 0) out.push(`${where}: no query`);
    const refIds = targets.map((t) => t.refId);
    if (new Set(refIds).size !== refIds.length) out.push(`${where}: refIds repeated`);
    for (const t of targets) {
      if (typeof t.expr !== 'string' || t.expr.trim() === '') out.push(`${where}: a query with an empty expr`);
      else check(where, t.expr);
      if (t.datasource && t.datasource.uid !== '${datasource}') out.push(`${where}: a query with another datasource`);
      if (typeof t.legendFormat === 'string') check(where, t.legendFormat);
    }
    for (const l of p.links ?? []) {
      if (typeof l.url === 'string' && l.url.startsWith(`${RUNBOOKS_URL}#`) && !runbookAnchors.has(l.url.slice(RUNBOOKS_URL.length + 1))) {
        out.push(`${where}: links to ${l.url}, a section docs/runbooks.md does not have`);
      }
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) out.push(`${title}: panels ${a.id} and ${b.id} overlap`);
    }
  }
  return out;
}

/** The anchors GitHub gives the headings of docs/runbooks.md. */
function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  for (const m of markdown.matchAll(/<a id="([^"]+)"><\/a>/g)) out.add(m[1]!);
  return out;
}

const runbookAnchors = anchorsOf(readFileSync(join(repoDir, 'docs', 'runbooks.md'), 'utf8'));
const committed = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as Json }));

describe('generated dashboards', () => {
  test('the committed JSON is what observability/dashboards renders now', () => {
    expect(staleDashboards(dashboardsDir, renderDashboards())).toEqual([]);
  });

  test('rendering is deterministic: two renders are byte-identical', () => {
    expect([...renderDashboards()]).toEqual([...renderDashboards()]);
  });

  test('a stale, missing or left-over file is reported with the command that fixes it', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kinora-dashboards-'));
    try {
      const rendered = renderDashboards();
      const [first, second] = [...rendered.keys()];
      for (const [name, text] of rendered) if (name !== second) writeFileSync(join(tmp, name), text);
      writeFileSync(join(tmp, first!), rendered.get(first!)!.replace('"refId": "A"', '"refId": "Z"'));
      writeFileSync(join(tmp, 'gone.json'), '{}\n');
      const problems = staleDashboards(tmp, rendered);
      expect(problems).toHaveLength(3);
      expect(problems[0]).toMatch(new RegExp(`${first} is out of date .*npm run dashboards`));
      expect(problems[1]).toMatch(new RegExp(`${second} is missing: run \`npm run dashboards\``));
      expect(problems[2]).toMatch(/gone\.json has no source .*npm run dashboards/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('npm run dashboards (writeDashboards) rewrites changed files, keeps current ones, removes left-overs', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kinora-dashboards-write-'));
    try {
      const rendered = renderDashboards();
      const [first, second] = [...rendered.keys()];
      expect(writeDashboards(join(tmp, 'out'), rendered).every((l) => l.startsWith('wrote '))).toBe(true);
      writeFileSync(join(tmp, 'out', first!), '{}\n');
      writeFileSync(join(tmp, 'out', 'old.json'), '{}\n');
      writeFileSync(join(tmp, 'out', 'notes.txt'), 'kept\n');
      const lines = writeDashboards(join(tmp, 'out'), rendered);
      expect(lines).toContain('removed old.json');
      expect(lines).toContain(`wrote ${first}`);
      expect(lines).toContain(`unchanged ${second}`);
      expect(staleDashboards(join(tmp, 'out'), rendered)).toEqual([]);
      expect(readdirSync(join(tmp, 'out'))).toContain('notes.txt');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('one file per dashboard: overview, gateway, services, Kafka, counters, transcoding, realtime, PostgreSQL', () => {
    expect(committed.map((c) => c.file)).toEqual(
      ['counters', 'gateway', 'kafka', 'overview', 'postgres', 'realtime', 'services', 'transcoding'].map((n) => `${n}.json`),
    );
    expect(DASHBOARDS).toHaveLength(committed.length);
  });
});

describe('each dashboard is well formed', () => {
  test('uids are unique, fixed and named after the file; no timestamps or instance ids', () => {
    const uids = committed.map((c) => c.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const c of committed) {
      expect(c.json.uid).toBe(`kinora-${c.file.replace(/\.json$/, '')}`);
      expect(c.json.id ?? null).toBeNull();
      expect(c.json.tags).toContain('kinora');
      expect(JSON.stringify(c.json)).not.toMatch(/"(created|updated|version|iteration)"\s*:/);
    }
  });

  test.each(committed.map((c) => [c.file, c.json] as const))('%s: ids, datasource, queries, grid, variables, units, runbook links', (_file, json) => {
    expect(dashboardProblems(json, runbookAnchors)).toEqual([]);
    expect(allPanels(json).filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(5);
  });

  test('panels link runbooks where an alert watches the same numbers', () => {
    const linked = new Set(committed.flatMap((c) => allPanels(c.json).flatMap((p) => (p.links ?? []).map((l: Json) => l.url as string))));
    for (const alert of ['kinorahigherrorratio', 'kinoraapilatencyhigh', 'kinoracircuitbreakeropen', 'kinoraanalyticsconsumerlag', 'kinoradeadletters', 'kinoratranscodefailures', 'kinoradatabasereplicalagging', 'kinoradatabasepoolsaturated']) {
      expect(linked).toContain(`${RUNBOOKS_URL}#${alert}`);
    }
  });
});

describe('the checker catches broken dashboards', () => {
  const good = (): Json => JSON.parse(JSON.stringify(committed.find((c) => c.file === 'gateway.json')!.json));
  const panelsOf = (d: Json): Json[] => d.panels.filter((p: Json) => p.type !== 'row');

  test('the committed gateway dashboard passes (the baseline of the cases below)', () => {
    expect(dashboardProblems(good(), runbookAnchors)).toEqual([]);
  });

  test('a repeated panel id', () => {
    const d = good();
    panelsOf(d)[1].id = panelsOf(d)[0].id;
    expect(dashboardProblems(d, runbookAnchors).join('\n')).toMatch(/panel ids repeated/);
  });

  test('a panel on another data source, a query with an empty expr, a panel without queries', () => {
    const d = good();
    panelsOf(d)[0].datasource = { type: 'prometheus', uid: 'prom-1' };
    panelsOf(d)[1].targets[0].expr = ' ';
    panelsOf(d)[2].targets = [];
    const problems = dashboardProblems(d, runbookAnchors).join('\n');
    expect(problems).toMatch(/datasource is not the \$\{datasource\} variable/);
    expect(problems).toMatch(/empty expr/);
    expect(problems).toMatch(/no query/);
  });

  test('a panel wider than the grid, and two panels on top of each other', () => {
    const d = good();
    panelsOf(d)[0].gridPos = { ...panelsOf(d)[0].gridPos, x: 20, w: 8 };
    panelsOf(d)[2].gridPos = { ...panelsOf(d)[1].gridPos };
    const problems = dashboardProblems(d, runbookAnchors).join('\n');
    expect(problems).toMatch(/not inside the 24-column grid/);
    expect(problems).toMatch(new RegExp(`panels ${panelsOf(d)[1].id} and ${panelsOf(d)[2].id} overlap`));
  });

  test('a query or legend naming a variable the dashboard does not define; built-ins are fine', () => {
    const d = good();
    panelsOf(d)[0].targets[0].expr = 'sum(rate(x{cluster=~"$cluster"}[$__rate_interval]))';
    panelsOf(d)[1].targets[0].legendFormat = '${region:text}';
    const problems = dashboardProblems(d, runbookAnchors).join('\n');
    expect(problems).toMatch(/refers to \$cluster/);
    expect(problems).toMatch(/refers to \$region/);
    expect(problems).not.toMatch(/__rate_interval/);
  });

  test('no datasource variable, a missing unit or description, a runbook link to a section that does not exist', () => {
    const d = good();
    d.templating.list = d.templating.list.filter((v: Json) => v.name !== 'datasource');
    delete panelsOf(d)[0].fieldConfig.defaults.unit;
    panelsOf(d)[1].description = '';
    panelsOf(d)[2].links = [{ title: 'Runbook', url: `${RUNBOOKS_URL}#kinoranosuchalert` }];
    const problems = dashboardProblems(d, runbookAnchors).join('\n');
    expect(problems).toMatch(/no `datasource` variable/);
    expect(problems).toMatch(/no unit/);
    expect(problems).toMatch(/no description/);
    expect(problems).toMatch(/kinoranosuchalert, a section docs\/runbooks.md does not have/);
  });

  test('variablesUsed reads every Grafana variable syntax', () => {
    expect(variablesUsed('a{x="$job", y="${namespace}", z="${pod:regex}", w="[[old]]"}[$__rate_interval] ${__range}')).toEqual(['job', 'namespace', 'old', 'pod']);
  });
});

/** A dashboard query as Prometheus would receive it: Grafana's interval variables become durations, others `.+`. */
export function asPromql(expr: string): string {
  return expr
    .replace(/\$\{?(__rate_interval|__interval|__range)\}?/g, (_m, v: string) => (v === '__range' ? '1h' : '5m'))
    .replace(/\$\{[A-Za-z0-9_]+(?::[^}]*)?\}|\$[A-Za-z0-9_]+/g, '.+');
}

/** A Prometheus rule file with one recording rule per query: `promtool check rules` parses each expression. */
function ruleFile(queries: Array<{ where: string; expr: string }>): string {
  const rules = queries.map((q, i) => `      - record: kinora:dashboard_query_${i}\n        expr: ${JSON.stringify(asPromql(q.expr))}`);
  return `groups:\n  - name: dashboards\n    rules:\n${rules.join('\n')}\n`;
}

describe('promtool parses every dashboard query', () => {
  let promtool: string;
  let tmp: string;
  beforeAll(async () => {
    promtool = process.env['KINORA_PROMTOOL'] ?? (await ensurePromtool());
    tmp = mkdtempSync(join(tmpdir(), 'kinora-dashboard-promql-'));
  }, 1_800_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('variables become values Prometheus accepts', () => {
    expect(asPromql('rate(a{job=~"$job", ns=~"${namespace}"}[$__rate_interval]) + b[${__range}]')).toBe('rate(a{job=~".+", ns=~".+"}[5m]) + b[1h]');
  });

  test('every panel and variable query of every dashboard is valid PromQL', async () => {
    // label_values() is Grafana's, not PromQL: its selector is what Prometheus is asked for.
    const queries = committed.flatMap((c) => dashboardQueries(c.json)).map((q) => ({ where: q.where, expr: q.expr.replace(/^label_values\(([\s\S]*),\s*[A-Za-z_][A-Za-z0-9_]*\)$/, '$1') }));
    expect(queries.length).toBeGreaterThan(100);
    const file = join(tmp, 'dashboards.rules.yaml');
    writeFileSync(file, ruleFile(queries));
    const r = await run(promtool, ['check', 'rules', file]);
    expect({ code: r.code, out: r.code === 0 ? '' : r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
    expect(r.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  }, 60_000);

  test('a query with a syntax error is rejected', async () => {
    const file = join(tmp, 'broken.rules.yaml');
    writeFileSync(file, ruleFile([{ where: 'x', expr: 'sum by (job) (rate(http_request_duration_seconds_count{job=~"$job"}[$__rate_interval])' }]));
    const r = await run(promtool, ['check', 'rules', file]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/dashboard_query_0|parse error|unclosed/i);
  }, 60_000);
});
