import { RATE, jobVariable, namespaceVariable, sel, stat, timeseries, type DashboardSpec } from '../grafana.js';

export const realtime: DashboardSpec = {
  name: 'realtime',
  title: 'Kinora / Realtime',
  description: 'The socket.io service: connections and rooms per instance, handshakes, emits by event and scope, the Redis streams adapter lag (cross-instance fan-out latency), live counts and chat.',
  variables: [namespaceVariable, jobVariable('realtime_connected_clients', 'Realtime')],
  sections: [
    {
      row: 'Connections',
      panels: [
        stat({
          title: 'Connected sockets',
          description: 'Sockets connected, all instances.',
          queries: [{ expr: `sum(realtime_connected_clients${sel()})` }],
          unit: 'short',
          span: 6,
        }),
        stat({
          title: 'Signed-in sockets',
          description: 'Connected sockets with a signed-in user, all instances.',
          queries: [{ expr: `sum(realtime_authenticated_clients${sel()})` }],
          unit: 'short',
          span: 6,
        }),
        stat({
          title: 'Video rooms',
          description: 'Video rooms with at least one socket, summed over instances (a room present on two instances counts twice).',
          queries: [{ expr: `sum(realtime_rooms${sel('kind="video"')})` }],
          unit: 'short',
          span: 6,
        }),
        stat({
          title: 'Fan-out p99',
          description: '99th percentile time from a broadcast being appended to the Redis stream to an instance reading it, over the dashboard\'s range.',
          queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(realtime_adapter_lag_seconds_bucket${sel()}[$__range])))` }],
          unit: 's',
          span: 6,
          thresholds: [{ value: null, color: 'green' }, { value: 0.25, color: 'yellow' }, { value: 1, color: 'red' }],
        }),
        timeseries({
          title: 'Sockets per instance',
          description: 'Connected and signed-in sockets of each instance: the edge should spread them evenly (sticky sessions keep a socket on one instance).',
          queries: [
            { expr: `sum by (instance) (realtime_connected_clients${sel()})`, legend: '{{instance}} connected' },
            { expr: `sum by (instance) (realtime_authenticated_clients${sel()})`, legend: '{{instance}} signed in' },
          ],
          unit: 'short',
          min: 0,
        }),
        timeseries({
          title: 'Rooms by kind',
          description: 'Rooms with at least one socket, by kind (video, user), summed over instances.',
          queries: [{ expr: `sum by (kind) (realtime_rooms${sel()})`, legend: '{{kind}}' }],
          unit: 'short',
          min: 0,
        }),
        timeseries({
          title: 'Handshakes by result',
          description: 'Handshakes per second by result: anonymous, user (a valid token), refused (a bad or expired token). A surge of refused is a client with stale tokens or an attack.',
          queries: [{ expr: `sum by (result) (rate(realtime_handshakes_total${sel()}${RATE}))`, legend: '{{result}}' }],
          unit: 'ops',
          stack: true,
        }),
      ],
    },
    {
      row: 'Fan-out',
      panels: [
        timeseries({
          title: 'Emits by event and scope',
          description: 'Emits per second by event; scope local stays on this instance, cluster goes through the Redis adapter to every instance.',
          queries: [{ expr: `sum by (event, scope) (rate(realtime_emits_total${sel()}${RATE}))`, legend: '{{event}} {{scope}}' }],
          unit: 'ops',
          stack: true,
        }),
        timeseries({
          title: 'Adapter lag (fan-out latency)',
          description: 'Time from a broadcast being appended to the Redis stream to each instance reading it: p50 and p99. Rising with load: Redis or the instances\' event loops are saturated.',
          queries: ['0.5', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(realtime_adapter_lag_seconds_bucket${sel()}${RATE})))`,
            legend: `p${Number(q) * 100}`,
          })),
          unit: 's',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.25, color: 'yellow' }, { value: 1, color: 'red' }],
        }),
        timeseries({
          title: 'Adapter lag p99 by instance',
          description: 'The 99th percentile adapter lag of each instance: one slow instance is its own event loop (see the services dashboard).',
          queries: [{ expr: `histogram_quantile(0.99, sum by (instance, le) (rate(realtime_adapter_lag_seconds_bucket${sel()}${RATE})))`, legend: '{{instance}}' }],
          unit: 's',
          min: 0,
        }),
      ],
    },
    {
      row: 'Live counts and chat',
      panels: [
        timeseries({
          title: 'Counts pushes',
          description: 'video:counts pushes per second to video rooms (live view and like counts).',
          queries: [{ expr: `sum by (instance) (rate(realtime_counts_pushes_total${sel()}${RATE}))`, legend: '{{instance}}' }],
          unit: 'ops',
        }),
        timeseries({
          title: 'Counts poll duration',
          description: 'p50 and p99 of one counts poll (presence sync, reading the counters, pushes). Polls slower than their interval delay live counts.',
          queries: ['0.5', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(realtime_counts_poll_duration_seconds_bucket${sel()}${RATE})))`,
            legend: `p${Number(q) * 100}`,
          })),
          unit: 's',
          min: 0,
        }),
        timeseries({
          title: 'Chat messages by result',
          description: 'chat:send requests per second by result (accepted, invalid, rate_limited, not_found, unauthenticated).',
          queries: [{ expr: `sum by (result) (rate(realtime_chat_messages_total${sel()}${RATE}))`, legend: '{{result}}' }],
          unit: 'ops',
          stack: true,
        }),
      ],
    },
  ],
};
