export { startPostgres, postgresUrl, type StartPostgresOptions, type PostgresHandle } from './postgres.harness.js';
export { startRedis, pingRedis, type StartRedisOptions, type RedisHandle } from './redis.harness.js';
export { startRedisSentinel, type StartRedisSentinelOptions, type RedisSentinelHandle } from './redis-sentinel.harness.js';
export { startKafka, ensureKafkaJars, DEFAULT_KAFKA_VERSION, type StartKafkaOptions, type KafkaHandle } from './kafka.harness.js';
export { startTestServices, type TestServices, type StartTestServicesOptions } from './test-services.js';
export { getTestEnv, parseBrokers, TEST_ENV_VARS, type TestEnv } from './test-env.js';
export {
  createTestDatabase,
  waitForReplica,
  type TestDatabase,
  type TestDatabaseOptions,
  type WaitForReplicaOptions,
} from './test-database.js';
export { waitUntil, sleep, type WaitOptions } from './internal/wait.js';
export { getFreePort, getFreePorts } from './internal/ports.js';
export { CONTRACT_OPERATIONS, operationsOf } from './api-contract.js';
export { HarnessError } from './internal/process.js';
export { startCluster, type ClusterHandle, type ClusterOptions, type ClusterProcess } from './cluster.js';
export {
  startKubernetes,
  getTestKubernetes,
  connectKubernetes,
  vendoredCrdsDir,
  TEST_KUBECONFIG,
  type StartKubernetesOptions,
  type KubernetesHandle,
  type KubectlResult,
} from './kubernetes.harness.js';
export {
  ensureHelm,
  ensureKubectl,
  ensurePromtool,
  ensureKubernetesBinaries,
  stagingVersion,
  wrapperGoMod,
  KUBERNETES_VERSION,
  ETCD_VERSION,
  HELM_VERSION,
  PROMETHEUS_VERSION,
  type KubernetesBinaries,
} from './go-binaries.js';
export { ensureFfmpeg } from './ffmpeg.js';
