import { describe, expect, it } from '@jest/globals';
import { dashboardQueries, exportedNames, metricNames } from './promql.js';

describe('metricNames (the PromQL reader)', () => {
  it('finds the metrics and skips functions, keywords, labels and ranges', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{route=~"/api/.*", x!="b_total"}[5m]))) > 1 and on (job) max without (instance) (c:recorded) == bool 1 unless d offset 5m',
      ),
    ).toEqual(['a_bucket', 'c:recorded', 'd']);
  });

  it('is not confused by Grafana template variables in matchers, ranges, arguments and old [[var]] syntax', () => {
    expect(metricNames('sum by (job) (rate(http_requests_total{namespace=~"$namespace", job=~"${job}"}[$__rate_interval]))')).toEqual(['http_requests_total']);
    expect(metricNames('histogram_quantile($quantile, sum by (le) (rate(x_bucket[${__range}])))')).toEqual(['x_bucket']);
    expect(metricNames('rate(y_total{job="[[job]]"}[$__interval]) * $scale + ${offset_value:raw}')).toEqual(['y_total']);
    expect(metricNames('60 * sum(rate(z_count{namespace=~"$namespace"}[$__rate_interval])) or vector(0)')).toEqual(['z_count']);
  });

  it('reads the metric of a Grafana label_values() variable query, not its label', () => {
    expect(metricNames('label_values(http_request_duration_seconds_count{namespace=~"$namespace"}, job)')).toEqual(['http_request_duration_seconds_count']);
    expect(metricNames('label_values(up, instance)')).toEqual(['up']);
    expect(metricNames('label_values(namespace)')).toEqual([]);
  });

  it('still reports a name that is not a metric (so a typo fails the check)', () => {
    expect(metricNames('sum(rate(htp_request_duration_seconds_count{job=~"$job"}[5m]))')).toEqual(['htp_request_duration_seconds_count']);
  });
});

describe('exportedNames', () => {
  it('expands histograms and summaries into their series', () => {
    const text = '# HELP a x\n# TYPE a counter\na 1\n# TYPE h histogram\n# TYPE s summary\n# TYPE g gauge\n';
    expect([...exportedNames(text)].sort()).toEqual(['a', 'g', 'h_bucket', 'h_count', 'h_sum', 's', 's_count', 's_sum']);
  });
});

describe('dashboardQueries', () => {
  it('collects panel targets (inside rows too) and query variables, not data source variables', () => {
    const queries = dashboardQueries({
      title: 'D',
      panels: [
        { title: 'p', targets: [{ expr: 'a', refId: 'A' }, { refId: 'B' }] },
        { title: 'r', type: 'row', panels: [{ title: 'q', targets: [{ expr: 'b', refId: 'A' }] }] },
      ],
      templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus' }, { name: 'job', type: 'query', query: 'label_values(c, job)' }, { name: 'x', type: 'query', query: { query: 'label_values(d, x)' } }] },
    });
    expect(queries).toEqual([
      { where: 'D / p (A)', expr: 'a' },
      { where: 'D / q (A)', expr: 'b' },
      { where: 'D / variable job', expr: 'label_values(c, job)' },
      { where: 'D / variable x', expr: 'label_values(d, x)' },
    ]);
  });
});
