import { startKafka, type KafkaHandle } from './kafka.harness.js';
import { createRunDir, removeRunDir } from './internal/run-dir.js';
import { startPostgres, type PostgresHandle } from './postgres.harness.js';
import { startRedis, type RedisHandle } from './redis.harness.js';
import { parseBrokers, TEST_ENV_VARS, type TestEnv } from './test-env.js';

export interface TestServices {
  /** Addresses of every service, given or started. */
  env: TestEnv;
  /** The same as `TEST_*` environment variables, ready for `Object.assign(process.env, …)`. */
  vars: Record<string, string>;
  /** Temp folder with data and logs of the services started here. */
  runDir: string;
  /** Which services were started here (the others came from the environment). */
  started: Array<'postgres' | 'redis' | 'kafka'>;
  /** Milliseconds each started service took, and the whole start. */
  timings: Record<string, number>;
  /** Stops what was started here and removes the temp folder. */
  stop(): Promise<void>;
}

export interface StartTestServicesOptions {
  /** Where to read `TEST_*` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

async function timed<T>(timings: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await fn();
  timings[name] = Math.round(performance.now() - t0);
  return value;
}

/**
 * Starts, in parallel, every service whose `TEST_*` variable is not set: PostgreSQL primary + replica, Redis,
 * Kafka. If one fails the others are stopped, and the error names the log files.
 */
export async function startTestServices(options: StartTestServicesOptions = {}): Promise<TestServices> {
  const env = options.env ?? process.env;
  const t0 = performance.now();
  const runDir = createRunDir();
  const timings: Record<string, number> = {};
  const given = {
    databaseUrl: env[TEST_ENV_VARS.databaseUrl],
    databaseReplicaUrl: env[TEST_ENV_VARS.databaseReplicaUrl],
    redisUrl: env[TEST_ENV_VARS.redisUrl],
    kafkaBrokers: env[TEST_ENV_VARS.kafkaBrokers],
  };
  if (given.databaseReplicaUrl && !given.databaseUrl) {
    throw new Error(`${TEST_ENV_VARS.databaseReplicaUrl} is set without ${TEST_ENV_VARS.databaseUrl}`);
  }

  const results = await Promise.allSettled([
    given.databaseUrl ? Promise.resolve(undefined) : timed(timings, 'postgres', () => startPostgres({ runDir })),
    given.redisUrl ? Promise.resolve(undefined) : timed(timings, 'redis', () => startRedis({ runDir })),
    given.kafkaBrokers ? Promise.resolve(undefined) : timed(timings, 'kafka', () => startKafka({ runDir })),
  ]);
  const [pgResult, redisResult, kafkaResult] = results;
  const handles: Array<PostgresHandle | RedisHandle | KafkaHandle> = [];
  for (const r of results) if (r.status === 'fulfilled' && r.value) handles.push(r.value);
  const stopAll = async () => {
    await Promise.allSettled(handles.map((h) => h.stop()));
  };

  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await stopAll();
    const message = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n');
    // The run folder stays for the logs named above; the next run removes it.
    throw new Error(`@kinora/testing: could not start the test services:\n${message}`);
  }

  const pgHandle = pgResult?.status === 'fulfilled' ? pgResult.value : undefined;
  const redisHandle = redisResult?.status === 'fulfilled' ? redisResult.value : undefined;
  const kafkaHandle = kafkaResult?.status === 'fulfilled' ? kafkaResult.value : undefined;
  const testEnv: TestEnv = {
    databaseUrl: given.databaseUrl ?? pgHandle!.url,
    // Only a primary given: reads go to it too.
    databaseReplicaUrl: given.databaseReplicaUrl ?? given.databaseUrl ?? pgHandle!.replicaUrl,
    redisUrl: given.redisUrl ?? redisHandle!.url,
    kafkaBrokers: given.kafkaBrokers ? parseBrokers(given.kafkaBrokers) : kafkaHandle!.brokers,
  };
  timings.total = Math.round(performance.now() - t0);
  const started: TestServices['started'] = [];
  if (pgHandle) started.push('postgres');
  if (redisHandle) started.push('redis');
  if (kafkaHandle) started.push('kafka');
  return {
    env: testEnv,
    vars: {
      [TEST_ENV_VARS.databaseUrl]: testEnv.databaseUrl,
      [TEST_ENV_VARS.databaseReplicaUrl]: testEnv.databaseReplicaUrl,
      [TEST_ENV_VARS.redisUrl]: testEnv.redisUrl,
      [TEST_ENV_VARS.kafkaBrokers]: testEnv.kafkaBrokers.join(','),
    },
    runDir,
    started,
    timings,
    async stop() {
      await stopAll();
      removeRunDir(runDir);
    },
  };
}
