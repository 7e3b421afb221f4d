/** The environment variables that point tests at their services; global setup sets the missing ones. */
export const TEST_ENV_VARS = {
  databaseUrl: 'TEST_DATABASE_URL',
  databaseReplicaUrl: 'TEST_DATABASE_REPLICA_URL',
  redisUrl: 'TEST_REDIS_URL',
  kafkaBrokers: 'TEST_KAFKA_BROKERS',
} as const;

export interface TestEnv {
  /** PostgreSQL primary, superuser, database `postgres` (use {@link createTestDatabase} for a private one). */
  databaseUrl: string;
  /** Its streaming replica (read-only). */
  databaseReplicaUrl: string;
  /** `redis://127.0.0.1:<port>` */
  redisUrl: string;
  /** `host:port` of each Kafka broker. */
  kafkaBrokers: string[];
  /**
   * `TEST_KUBECONFIG` when the developer points tests at an existing cluster; otherwise undefined. The global
   * setup never starts Kubernetes: a suite that needs it calls `getTestKubernetes()`, which uses this cluster
   * or starts one for its Jest worker, and reads `.kubeconfig` from the handle.
   */
  kubeconfig?: string;
}

/** Splits `TEST_KAFKA_BROKERS` ("a:1,b:2"). */
export function parseBrokers(value: string): string[] {
  return value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/**
 * The service addresses for tests, read from the environment that the Jest global setup of `@kinora/testing`
 * fills in (or that the developer set to use existing services). Throws, naming what is missing, otherwise.
 */
export function getTestEnv(env: NodeJS.ProcessEnv = process.env): TestEnv {
  const missing = Object.values(TEST_ENV_VARS).filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `@kinora/testing: ${missing.join(', ')} not set. Run tests with \`npm test -- <path>\` so the Jest global setup ` +
        `(libs/testing/src/jest/global-setup.ts) starts the services, or set them to existing services (docs/testing.md).`,
    );
  }
  const kafkaBrokers = parseBrokers(env[TEST_ENV_VARS.kafkaBrokers]!);
  if (kafkaBrokers.length === 0) throw new Error(`@kinora/testing: ${TEST_ENV_VARS.kafkaBrokers} holds no broker`);
  return {
    databaseUrl: env[TEST_ENV_VARS.databaseUrl]!,
    databaseReplicaUrl: env[TEST_ENV_VARS.databaseReplicaUrl]!,
    redisUrl: env[TEST_ENV_VARS.redisUrl]!,
    kafkaBrokers,
    ...(env.TEST_KUBECONFIG ? { kubeconfig: env.TEST_KUBECONFIG } : {}),
  };
}
