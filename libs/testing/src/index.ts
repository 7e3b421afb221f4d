export { startPostgres, postgresUrl, type StartPostgresOptions, type PostgresHandle } from './postgres.harness.js';
export { startPgBouncer, type StartPgBouncerOptions, type PgBouncerHandle } from './pgbouncer.harness.js';
export { startRedis, pingRedis, redisConnectionNames, type StartRedisOptions, type RedisHandle } from './redis.harness.js';
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
export { assertPortFree, getFreePort, getFreePorts, PortUnavailableError } from './internal/ports.js';
export { CONTRACT_OPERATIONS, operationsOf } from './api-contract.js';
export { HarnessError, pidAlive, spawnInOwnProcessGroups } from './internal/process.js';
export { startCluster, type ClusterHandle, type ClusterOptions, type ClusterProcess } from './cluster.js';
export { startEmbedded, type EmbeddedHandle, type EmbeddedOptions } from './embedded.js';
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
  ensureTilt,
  ensureKubernetesBinaries,
  stagingVersion,
  wrapperGoMod,
  KUBERNETES_VERSION,
  ETCD_VERSION,
  HELM_VERSION,
  PROMETHEUS_VERSION,
  TILT_VERSION,
  type KubernetesBinaries,
} from './go-binaries.js';
export { ensureFfmpeg } from './ffmpeg.js';
export { metricNames, exportedNames, dashboardQueries, type DashboardQuery } from './promql.js';
export {
  ensurePodman,
  ensureBaseImage,
  stageDependencies,
  buildImages,
  devImageName,
  containerdName,
  publishImage,
  imageNames,
  chartRepository,
  projectVersion,
  prunedFromImage,
  linkedLibraries,
  baseImageName,
  CONTAINERS_CONF,
  IMAGE_NODE_VERSION,
  IMAGE_USER,
  IMAGE_TARGETS,
  INPUTS_LABEL,
  type Podman,
  type PodmanAvailability,
  type EnsurePodmanOptions,
  type ImageTarget,
  type ImageNames,
  type BuildImagesOptions,
  type BuiltImage,
  type CommandResult,
} from './images.js';
export { ensureSchemathesis, SCHEMATHESIS_VERSION } from './schemathesis.js';
