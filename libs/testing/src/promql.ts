// Which metrics a query names, and which ones a `/metrics` page exports: the two halves of the tests that check the
// chart's alert rules and Grafana dashboards against the running services.

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);

/**
 * The metric names a PromQL expression reads, parsed roughly: Grafana template variables (`$job`, `${job}`,
 * `${__rate_interval}`, `[[job]]`), strings, label matchers (`{...}`), ranges (`[...]`) and grouping label lists
 * (`by (...)` etc.) are dropped; what is left of the identifiers, minus functions (followed by `(`) and keywords,
 * are metric names. A Grafana variable query `label_values(<selector>, <label>)` reads the metric of its selector
 * (none when it has only a label).
 */
export function metricNames(expr: string): string[] {
  const labelValues = /^\s*label_values\s*\(([\s\S]*)\)\s*$/.exec(expr);
  if (labelValues) {
    const args = labelValues[1]!;
    // The label is the last argument, after the selector's closing brace if there is one.
    const comma = args.lastIndexOf(',');
    return comma < 0 ? [] : metricNames(args.slice(0, comma));
  }
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]/g, ' 0 ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    if (m[2] || PROMQL_KEYWORDS.has(m[1]!.toLowerCase())) continue;
    out.add(m[1]!);
  }
  return [...out].sort();
}

/** The sample names a Prometheus text exposition declares: `# TYPE` lines, with a histogram's and summary's series. */
export function exportedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) out.add(name + s);
    else if (type === 'summary') for (const s of ['', '_count', '_sum']) out.add(name + s);
    else out.add(name);
  }
  return out;
}

/** One PromQL query of a dashboard and where it is (for messages). */
export interface DashboardQuery {
  where: string;
  expr: string;
}

interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: GrafanaPanel[];
}

/**
 * Every PromQL query of a Grafana dashboard (JSON model): each panel target's `expr` (panels inside collapsed rows
 * too) and each query variable's query (`label_values(...)` or a plain expression).
 */
export function dashboardQueries(dashboard: { title?: string; panels?: GrafanaPanel[]; templating?: { list?: Array<{ name?: string; type?: string; query?: unknown }> } }): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const visit = (panels: GrafanaPanel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `${dashboard.title} / ${p.title} (${t.refId ?? '?'})`, expr: t.expr });
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: unknown } | undefined)?.query;
    if (typeof q === 'string') out.push({ where: `${dashboard.title} / variable ${v.name}`, expr: q });
  }
  return out;
}
