#!/usr/bin/env node
// The operator process: parse config, connect, run until SIGTERM/SIGINT, then shut down gracefully (controllers
// drain, the lease is released, the event bus closes).
import pg from 'pg';
import { loadOrExit } from '@kinora/config';
import { openEventBus } from '@kinora/events';
import { loadOperatorConfig } from './config.js';
import { Operator } from './operator.js';
import { KubeClient } from './runtime/kube-client.js';
import { createLogger } from './runtime/logger.js';

const config = loadOrExit(() => loadOperatorConfig());
const logger = createLogger(config.logLevel);
const client = await KubeClient.load(config.kubeconfig);
if (config.kafkaBrokers.length === 0 && !config.databaseUrl) {
  process.stderr.write('Invalid configuration: KAFKA_BROKERS or DATABASE_URL must be set (where video.transcoded events go)\n');
  process.exit(1);
}
const pool = config.databaseUrl ? new pg.Pool({ connectionString: config.databaseUrl, max: 2 }) : undefined;
const bus = await openEventBus({
  kafkaBrokers: config.kafkaBrokers,
  pool: pool as pg.Pool,
  logger,
  clientId: 'kinora-operator',
  topicPartitions: 3,
  replicationFactor: 1,
});
const operator = new Operator({
  client,
  namespace: config.watchNamespace,
  bus,
  controllers: config.controllers,
  permanentExitCodes: config.transcode.permanentExitCodes,
  jobTemplate: {
    image: config.transcode.image,
    command: config.transcode.command,
    env: config.transcode.env,
    envFromSecret: config.transcode.envFromSecret,
    serviceAccountName: config.transcode.serviceAccountName,
  },
  leaderElection: config.leaderElection.enabled
    ? { namespace: config.leaderElection.namespace, name: config.leaderElection.leaseName, identity: config.leaderElection.identity }
    : false,
  port: config.port,
  host: config.host,
  logger,
  defaultBrokers: config.kafkaBrokers,
  lagIntervalMs: config.lagIntervalMs,
  probeIntervalMs: config.probeIntervalMs,
  workers: config.workers,
  onLostLeadership: () => {
    logger.error({}, 'leadership lost; exiting so the Pod restarts as a candidate');
    process.exitCode = 1;
    void shutdown('lease lost');
  },
});

let stopping: Promise<void> | undefined;
function shutdown(reason: string): Promise<void> {
  stopping ??= (async () => {
    logger.info({ reason }, 'shutting down');
    await operator.stop();
    await bus.close();
    await pool?.end();
    client.close();
    logger.info({}, 'stopped');
  })();
  return stopping;
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
await operator.start();
logger.info({ port: operator.port, leaderElection: config.leaderElection.enabled, identity: config.leaderElection.identity }, 'kinora-operator started');
