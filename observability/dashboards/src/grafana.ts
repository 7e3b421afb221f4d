// The few shapes every Kinora dashboard is made of, on top of the Grafana Foundation SDK's builders: one Prometheus
// data source chosen by the `datasource` variable, rows of panels laid out left to right on the 24-column grid,
// panels with a unit, a description, thresholds and runbook links. Output is deterministic (fixed uids, ids given in
// order, no timestamps) so the committed JSON can be compared with a fresh build.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DashboardLink,
  type Panel,
  type RowPanel,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  BigValueColorMode,
  BigValueGraphMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';

/** Every panel and query reads the Prometheus chosen in the dashboard's `datasource` variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** Where the runbooks live (the same base the alert rules' `runbook_url` use). */
export const RUNBOOKS_URL = 'https://github.com/kinora/kinora/blob/main/docs/runbooks.md';

/** Dashboards carry this tag; each links to the others through it. */
export const TAG = 'kinora';

export interface Query {
  expr: string;
  /** Legend template, e.g. `{{job}}`. */
  legend?: string;
}

export type Color = 'green' | 'yellow' | 'orange' | 'red' | 'blue' | 'purple';

export interface PanelSpec {
  title: string;
  /** Shown in the panel's (i) tooltip: what the numbers are and what to do when they look wrong. */
  description: string;
  queries: Query[];
  /** A Grafana unit id (`reqps`, `s`, `bytes`, `percentunit`, `short`, `suffix:×`, …). */
  unit: string;
  /** Width in grid columns (of 24). */
  span?: number;
  height?: number;
  /** Color steps: the first applies from -∞, the others from their value up. */
  thresholds?: Array<{ value: number | null; color: Color }>;
  min?: number;
  max?: number;
  decimals?: number;
  /** Anchors of docs/runbooks.md this panel is evidence for. */
  runbooks?: string[];
  /** Stack the series (time series only). */
  stack?: boolean;
  /** Value → text and color (stat and state timeline). */
  mappings?: Array<{ value: number; text: string; color: Color }>;
}

export type PanelKind = 'timeseries' | 'stat' | 'state-timeline';

/** A panel before layout: its kind and spec. */
export interface PanelDef extends PanelSpec {
  kind: PanelKind;
}

export const timeseries = (spec: PanelSpec): PanelDef => ({ kind: 'timeseries', ...spec });
export const stat = (spec: PanelSpec): PanelDef => ({ kind: 'stat', ...spec });
export const stateTimeline = (spec: PanelSpec): PanelDef => ({ kind: 'state-timeline', ...spec });

export interface Section {
  /** Row title. */
  row: string;
  panels: PanelDef[];
}

export interface VariableSpec {
  name: string;
  label: string;
  /** `label_values(<metric>{…}, <label>)`. */
  query: string;
  multi?: boolean;
  includeAll?: boolean;
  description?: string;
}

export interface DashboardSpec {
  /** The file name (without `.json`) and the suffix of the uid: `kinora-<name>`. */
  name: string;
  title: string;
  description: string;
  variables: VariableSpec[];
  sections: Section[];
}

/** `label_values(metric{selector}, label)` for a variable's query. */
export function labelValues(metric: string, label: string, selector = ''): string {
  return `label_values(${metric}${selector ? `{${selector}}` : ''}, ${label})`;
}

/** The `namespace` variable: namespaces that have any Kinora service scraped (`namespace` comes from the ServiceMonitor). */
export const namespaceVariable: VariableSpec = {
  name: 'namespace',
  label: 'Namespace',
  query: labelValues('http_request_duration_seconds_count', 'namespace'),
  description: 'Kubernetes namespace of the Kinora release',
};

/**
 * The `job` variable: the scrape jobs (one per service under the chart's ServiceMonitors, e.g. `kinora-gateway`)
 * that export `metric`, so a dashboard about one service finds it whatever the release is called.
 */
export function jobVariable(metric: string, label = 'Service'): VariableSpec {
  return {
    name: 'job',
    label,
    query: labelValues(metric, 'job', 'namespace=~"$namespace"'),
    multi: true,
    includeAll: true,
    description: 'Scrape job: one per service (<release>-<service>)',
  };
}

/** The selector every query starts from: the chosen namespace and jobs. */
export const SCOPE = 'namespace=~"$namespace", job=~"$job"';

/** `{namespace=~"$namespace", job=~"$job", <extra>}`. */
export function sel(extra?: string): string {
  return `{${SCOPE}${extra ? `, ${extra}` : ''}}`;
}

/** The rate window: Grafana's `$__rate_interval` (at least four scrape intervals). */
export const RATE = '[$__rate_interval]';

const COLORS: Record<Color, string> = { green: 'green', yellow: 'yellow', orange: 'orange', red: 'red', blue: 'blue', purple: 'purple' };

function thresholds(steps: PanelSpec['thresholds']): ThresholdsConfigBuilder {
  const list = steps ?? [{ value: null, color: 'green' }];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list.map((s) => ({ value: s.value, color: COLORS[s.color] })));
}

function mappings(spec: PanelSpec): ValueMapping[] {
  if (!spec.mappings) return [];
  const options: Record<string, { text: string; color: string; index: number }> = {};
  spec.mappings.forEach((m, index) => (options[String(m.value)] = { text: m.text, color: COLORS[m.color], index }));
  return [{ type: MappingType.ValueToText, options }];
}

function runbookLinks(anchors: string[] | undefined): cog.Builder<DashboardLink>[] {
  return (anchors ?? []).map((a) => new DashboardLinkBuilder(`Runbook: ${a}`).url(`${RUNBOOKS_URL}#${a.toLowerCase()}`).targetBlank(true));
}

function targets(queries: Query[]): DataqueryBuilder[] {
  return queries.map((q, i) => {
    const b = new DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE)
      .expr(q.expr)
      .range();
    return q.legend ? b.legendFormat(q.legend) : b;
  });
}

/** Options every panel kind shares (the builders have the same methods but no common type). */
interface CommonPanel<T> {
  title(t: string): T;
  description(d: string): T;
  datasource(d: typeof DATASOURCE): T;
  unit(u: string): T;
  span(w: number): T;
  height(h: number): T;
  thresholds(t: ThresholdsConfigBuilder): T;
  links(l: cog.Builder<DashboardLink>[]): T;
  withTarget(t: DataqueryBuilder): T;
  min(n: number): T;
  max(n: number): T;
  decimals(n: number): T;
  mappings(m: ValueMapping[]): T;
}

function common<T extends CommonPanel<T>>(b: T, spec: PanelDef): T {
  b.title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.span ?? 8)
    .height(spec.height ?? (spec.kind === 'stat' ? 4 : 8))
    .thresholds(thresholds(spec.thresholds))
    .links(runbookLinks(spec.runbooks));
  for (const t of targets(spec.queries)) b.withTarget(t);
  if (spec.min !== undefined) b.min(spec.min);
  if (spec.max !== undefined) b.max(spec.max);
  if (spec.decimals !== undefined) b.decimals(spec.decimals);
  if (spec.mappings) b.mappings(mappings(spec));
  return b;
}

function panel(spec: PanelDef): cog.Builder<Panel> {
  switch (spec.kind) {
    case 'timeseries': {
      const b = common(new TimeseriesPanelBuilder(), spec)
        .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
        .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
        .fillOpacity(spec.stack ? 30 : 10)
        .lineWidth(1);
      if (spec.stack) b.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
      // A line at each threshold: the level the alert (or the runbook) cares about.
      if (spec.thresholds && spec.thresholds.length > 1) b.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
      return b;
    }
    case 'stat':
      return common(new StatPanelBuilder(), spec)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.Area);
    case 'state-timeline':
      return common(new StateTimelinePanelBuilder(), spec)
        .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
        .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Single).sort(SortOrder.None));
  }
}

function variable(spec: VariableSpec): QueryVariableBuilder {
  const b = new QueryVariableBuilder(spec.name)
    .label(spec.label)
    .datasource(DATASOURCE)
    .query(spec.query)
    .definition(spec.query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(spec.multi ?? false)
    .includeAll(spec.includeAll ?? false);
  if (spec.includeAll) b.allValue('.+');
  if (spec.description) b.description(spec.description);
  return b;
}

/** Builds a dashboard: variables (`datasource` first), rows and their panels laid out, ids numbered from 1. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const b = new DashboardBuilder(spec.title)
    .uid(`kinora-${spec.name}`)
    .description(spec.description)
    .tags([TAG])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-3h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .link(new DashboardLinkBuilder('Kinora dashboards').type(DashboardLinkType.Dashboards).tags([TAG]).asDropdown(true).includeVars(true).keepTime(true))
    .link(new DashboardLinkBuilder('Runbooks').type(DashboardLinkType.Link).url(RUNBOOKS_URL).icon('doc').targetBlank(true))
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  for (const v of spec.variables) b.withVariable(variable(v));
  for (const section of spec.sections) {
    b.withRow(new RowBuilder(section.row).collapsed(false));
    for (const p of section.panels) b.withPanel(panel(p));
  }
  const dashboard = b.build();
  let id = 0;
  for (const p of dashboard.panels ?? []) {
    (p as Panel | RowPanel).id = ++id;
    for (const inner of (p as RowPanel).panels ?? []) inner.id = ++id;
  }
  return dashboard;
}
