import { jobVariable, namespaceVariable, sel, stat, timeseries, type DashboardSpec } from '../grafana.js';

export const postgres: DashboardSpec = {
  name: 'postgres',
  title: 'Kinora / PostgreSQL',
  description: 'PostgreSQL as the services see it (libs/db): which servers answer their health checks, replica lag in seconds and bytes, and the connection pools of each service (busy, idle, size, requests waiting for a connection).',
  variables: [namespaceVariable, jobVariable('kinora_db_pool_max_connections')],
  sections: [
    {
      row: 'Servers',
      panels: [
        timeseries({
          title: 'Servers answering',
          description: 'Per database and server (primary, or a replica\'s host:port), the share of pods whose health checks reach it (1: all). Primary at 0: writes answer 503 and reads use the replicas; a replica at 0: its reads go to the other replicas or the primary.',
          queries: [{ expr: `avg by (database, server) (kinora_db_server_up${sel()})`, legend: '{{database}} {{server}}' }],
          unit: 'percentunit',
          span: 24,
          height: 6,
          min: 0,
          max: 1,
          thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
          runbooks: ['KinoraDatabasePrimaryDown', 'KinoraDatabaseReplicaDown'],
        }),
      ],
    },
    {
      row: 'Replicas',
      panels: [
        stat({
          title: 'Worst replica lag',
          description: 'The largest replay lag of any read replica as any service measures it. Reads go to replicas (a client that wrote reads from the primary until a replica has replayed its write), so lag is how stale a read can be.',
          queries: [{ expr: `max(kinora_db_replica_lag_seconds${sel()})` }],
          unit: 's',
          span: 6,
          height: 8,
          thresholds: [{ value: null, color: 'green' }, { value: 5, color: 'yellow' }, { value: 30, color: 'red' }],
          runbooks: ['KinoraDatabaseReplicaLagging'],
        }),
        timeseries({
          title: 'Replica lag (seconds)',
          description: 'Replay lag of each replica, as each service measures it (0 when caught up and idle). Dashed: 5 s and the 30 s of KinoraDatabaseReplicaLagging; while a replica lags, the reads of clients that wrote meanwhile go to the primary.',
          queries: [{ expr: `max by (job, replica) (kinora_db_replica_lag_seconds${sel()})`, legend: '{{job}} {{replica}}' }],
          unit: 's',
          span: 9,
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 5, color: 'yellow' }, { value: 30, color: 'red' }],
          runbooks: ['KinoraDatabaseReplicaLagging'],
        }),
        timeseries({
          title: 'Replica lag (bytes)',
          description: 'WAL the replica has not replayed yet (the primary\'s current LSN minus the replica\'s replay LSN). Growing bytes with flat seconds: the replica is behind on a burst of writes.',
          queries: [{ expr: `max by (job, replica) (kinora_db_replica_lag_bytes${sel()})`, legend: '{{job}} {{replica}}' }],
          unit: 'bytes',
          span: 9,
          min: 0,
          runbooks: ['KinoraDatabaseReplicaLagging'],
        }),
      ],
    },
    {
      row: 'Connection pools',
      panels: [
        timeseries({
          title: 'Pool saturation (worst pod)',
          description: 'Busy connections over the pool size of the busiest pod, per service and pool (primary; replica: all replica pools of a pod summed). At 100% new queries wait for a connection (next panel). Dashed: the 90% of KinoraDatabasePoolSaturated.',
          queries: [
            {
              expr: `max by (job, pool) (kinora_db_pool_connections${sel('state="busy"')} / ignoring (state) kinora_db_pool_max_connections${sel()})`,
              legend: '{{job}} {{pool}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: [{ value: null, color: 'green' }, { value: 0.75, color: 'yellow' }, { value: 0.9, color: 'red' }],
          runbooks: ['KinoraDatabasePoolSaturated'],
        }),
        timeseries({
          title: 'Waiting for a connection',
          description: 'Queries waiting for a free pool connection, per service and pool. Any steady value: the pool is too small for the load, or queries hold connections too long.',
          queries: [{ expr: `sum by (job, pool) (kinora_db_pool_waiting_requests${sel()})`, legend: '{{job}} {{pool}}' }],
          unit: 'short',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraDatabasePoolSaturated'],
        }),
        timeseries({
          title: 'Connections by state',
          description: 'Busy and idle connections per service and pool, summed over pods, against the configured pool size (max) times the pods.',
          queries: [
            { expr: `sum by (job, pool, state) (kinora_db_pool_connections${sel()})`, legend: '{{job}} {{pool}} {{state}}' },
            { expr: `sum by (job, pool) (kinora_db_pool_max_connections${sel()})`, legend: '{{job}} {{pool}} max' },
          ],
          unit: 'short',
          min: 0,
        }),
      ],
    },
  ],
};
