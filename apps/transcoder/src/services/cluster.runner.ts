import type { Config } from '@kinora/config';
import type { TranscodeJobSpecInput, VideoUploadedV1 } from '@kinora/contracts';
import type { ClusterRunner } from '../events/video-uploaded.consumer.js';
import { TranscodeJobRepository } from '../repositories/transcode-job.repository.js';

export type ClusterRunnerConfig = Pick<Config, 'transcodeChunkSec' | 'transcodeMaxAttempts' | 'transcodeMaxParallel' | 'transcodeImage'>;

/** The TranscodeJob spec of one upload (the operator applies the CRD's defaults to what is left out). */
export function transcodeJobSpec(upload: VideoUploadedV1, config: ClusterRunnerConfig): TranscodeJobSpecInput {
  return {
    videoId: upload.videoId,
    // The upload event knows the size, not the height: the operator sizes the first step from the size alone.
    source: { key: upload.sourceKey, sizeBytes: upload.sizeBytes },
    outputPrefix: upload.outputPrefix,
    chunking: { chunkSeconds: config.transcodeChunkSec, maxParallel: config.transcodeMaxParallel },
    maxAttempts: Math.min(config.transcodeMaxAttempts, 20),
    ...(config.transcodeImage ? { image: config.transcodeImage } : {}),
  };
}

/** TRANSCODE_RUNNER=kubernetes: uploads become TranscodeJobs through `repo`. */
export function kubernetesRunner(repo: TranscodeJobRepository, config: ClusterRunnerConfig): ClusterRunner {
  return {
    namespace: repo.namespace,
    submit: (upload) => repo.create(transcodeJobSpec(upload, config), { 'kinora.io/video-id': TranscodeJobRepository.nameOf(upload.videoId).slice(3) }),
  };
}
