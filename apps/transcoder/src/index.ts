export {
  buildApp,
  createTranscoderModule,
  migrationsDir,
  type TranscoderAppDeps,
  type TranscoderConfig,
  type TranscoderContext,
  type TranscoderModule,
  type TranscoderPluginOptions,
  type TranscoderStatus,
  type TranscoderTuning,
} from './app.js';
export { CONSUMER_GROUP, type ClusterRunner } from './events/video-uploaded.consumer.js';
export { TranscodeJobRepository, KubernetesApiError, SERVICE_ACCOUNT_NAMESPACE_FILE, type TranscodeJobClientOptions } from './repositories/transcode-job.repository.js';
export { kubernetesRunner, transcodeJobSpec, type ClusterRunnerConfig } from './services/cluster.runner.js';
export { TRANSCODER_ACTOR } from './events/transcode.events.js';
export type { JobRepository, JobRow, JobState } from './repositories/job.repository.js';
export type { FailureClass, RetryBackoff } from './services/failure.classifier.js';
export {
  type ChunkedDeps,
  type ChunkedJobRef,
  type JoinOptions,
  MissingWorkError,
  PLAN_FILE,
  workPrefixOf,
  planJob,
  readPlan,
  chunkJob,
  audioJob,
  joinJob,
} from './services/chunked.service.js';
export { EXIT as TRANSCODE_JOB_EXIT, parseJobArgs, exitCodeOf, runJobStep } from './transcode-job.js';
