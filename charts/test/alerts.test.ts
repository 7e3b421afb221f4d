// The alert rules of the chart (charts/kinora/files/prometheus-rules.yaml): promtool checks them and runs their unit
// tests (prometheus-rules.test.yaml), rejects a broken copy, and the PrometheusRule the chart renders from them
// appears only when enabled and carries exactly the file's groups. Which metrics the rules name is checked against
// the running services in apps/kinora/test/integration/alert-metrics.test.ts.
// promtool and helm come from KINORA_PROMTOOL / KINORA_HELM when set, else from the harness.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ensureHelm, ensurePromtool } from '@kinora/testing';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildDependencies, chartDir, parseManifests, run, template } from './helm.js';

const filesDir = join(chartDir, 'files');
const rulesFile = join(filesDir, 'prometheus-rules.yaml');
const testsFile = join(filesDir, 'prometheus-rules.test.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RuleFile = { groups: Array<{ name: string; rules: Array<Record<string, any>> }> };
const ruleFile = (): RuleFile => parse(readFileSync(rulesFile, 'utf8')) as RuleFile;

let helm: string;
let promtool: string;
let tmp: string;

beforeAll(async () => {
  helm = process.env['KINORA_HELM'] ?? (await ensureHelm());
  promtool = process.env['KINORA_PROMTOOL'] ?? (await ensurePromtool());
  await buildDependencies(helm);
  tmp = mkdtempSync(join(tmpdir(), 'kinora-alerts-'));
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('promtool', () => {
  test('check rules accepts the rule file', async () => {
    const r = await run(promtool, ['check', 'rules', rulesFile]);
    expect({ code: r.code, out: r.code === 0 ? '' : r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
    expect(r.stdout).toMatch(/SUCCESS: 11 rules found/);
  }, 60_000);

  test('the unit tests pass: each alert fires on its series and stays quiet on the others', async () => {
    const r = await run(promtool, ['test', 'rules', testsFile]);
    expect({ code: r.code, out: r.code === 0 ? '' : r.stdout + r.stderr }).toEqual({ code: 0, out: '' });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
  }, 60_000);

  test('check rules rejects a broken copy: bad PromQL, a bad duration, a bad annotation template', async () => {
    const text = readFileSync(rulesFile, 'utf8');
    const broken = join(tmp, 'broken-rules.yaml');
    writeFileSync(broken, text.replace('max by (job, upstream) (gateway_circuit_breaker_state) == 1', 'max by (job, upstream) (gateway_circuit_breaker_state == 1'));
    const promql = await run(promtool, ['check', 'rules', broken]);
    expect(promql.code).not.toBe(0);
    expect(promql.stdout + promql.stderr).toMatch(/KinoraCircuitBreakerOpen/);

    writeFileSync(broken, text.replace('for: 3m', 'for: three minutes'));
    const duration = await run(promtool, ['check', 'rules', broken]);
    expect(duration.code).not.toBe(0);

    writeFileSync(broken, text.replace('summary: "{{ $labels.job }}: messages of', 'summary: "{{ $labels.job : messages of'));
    const annotation = await run(promtool, ['check', 'rules', broken]);
    expect(annotation.code).not.toBe(0);
    expect(annotation.stdout + annotation.stderr).toMatch(/KinoraDeadLetters.*annotation "summary"/);
  }, 60_000);

  test('test rules fails when an alert would not fire as the unit test expects', async () => {
    // The same unit tests against rules whose breaker alert never fires (state 3 does not exist).
    cpSync(testsFile, join(tmp, 'prometheus-rules.test.yaml'));
    writeFileSync(join(tmp, 'prometheus-rules.yaml'), readFileSync(rulesFile, 'utf8').replace('(gateway_circuit_breaker_state) == 1', '(gateway_circuit_breaker_state) == 3'));
    const r = await run(promtool, ['test', 'rules', join(tmp, 'prometheus-rules.test.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/FAILED[\s\S]*KinoraCircuitBreakerOpen/);
  }, 60_000);
});

describe('the rule file', () => {
  test('every alert has for, a severity, a summary, a description and a runbook section', () => {
    const runbooks = readFileSync(join(chartDir, '..', '..', 'docs', 'runbooks.md'), 'utf8');
    // GitHub's anchors: the heading lowercased, spaces to dashes, punctuation dropped.
    const anchors = new Set([...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-')));
    const alerts = ruleFile().groups.flatMap((g) => g.rules);
    expect(alerts.length).toBe(11);
    for (const rule of alerts) {
      expect({ alert: rule['alert'], for: typeof rule['for'] }).toEqual({ alert: expect.stringMatching(/^Kinora[A-Za-z]+$/), for: 'string' });
      expect(['critical', 'warning']).toContain(rule['labels']?.severity);
      expect(rule['annotations']).toEqual({ summary: expect.any(String), description: expect.any(String), runbook_url: expect.any(String) });
      const url = rule['annotations'].runbook_url as string;
      expect(url).toBe(`https://github.com/kinora/kinora/blob/main/docs/runbooks.md#${(rule['alert'] as string).toLowerCase()}`);
      expect({ alert: rule['alert'], hasRunbook: anchors.has(url.split('#')[1]!) }).toEqual({ alert: rule['alert'], hasRunbook: true });
    }
  });
});

describe('the PrometheusRule', () => {
  test('is not rendered by default', async () => {
    const objects = parseManifests(await template(helm, 'default'));
    expect(objects.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(0);
  }, 60_000);

  test('when enabled it carries the file groups and the extra labels', async () => {
    const objects = parseManifests(
      await template(helm, 'default', ['--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.additionalLabels.release=kps']),
    );
    const rules = objects.filter((o) => o.kind === 'PrometheusRule');
    expect(rules).toHaveLength(1);
    const rule = rules[0]!;
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata).toMatchObject({ name: 'kinora', namespace: 'kinora' });
    expect(rule.metadata.labels).toMatchObject({ release: 'kps', 'app.kubernetes.io/instance': 'kinora', 'app.kubernetes.io/name': 'kinora' });
    expect(rule.spec).toEqual({ groups: ruleFile().groups });
    // The annotations' templates reach Prometheus as written: helm does not expand them.
    expect(JSON.stringify(rule.spec)).toContain('{{ $labels.job }}');
  }, 60_000);

  test('the schema takes only string labels', async () => {
    const r = await run(helm, ['template', 'kinora', chartDir, '--set', 'metrics.prometheusRule.enabled=true', '--set-json', 'metrics.prometheusRule.additionalLabels={"a":{"b":1}}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/additionalLabels/);
  }, 60_000);

  test.each([
    ['invalid YAML', 'groups: [\n'],
    ['no groups', 'rules: []\n'],
  ])('a chart whose rule file has %s fails to render', async (_what, content) => {
    const copy = join(tmp, `chart-${_what.replace(/ /g, '-')}`);
    cpSync(chartDir, copy, { recursive: true });
    writeFileSync(join(copy, 'files', 'prometheus-rules.yaml'), content);
    const r = await run(helm, ['template', 'kinora', copy, '--set', 'metrics.prometheusRule.enabled=true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/files\/prometheus-rules.yaml has no rule groups/);
  }, 60_000);
});
