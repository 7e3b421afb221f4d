import { Type, type Static } from '@sinclair/typebox';

// ---- kinora.io/v1alpha1 TranscodeJob (cluster mode) ----
// The spec the transcoder writes (TRANSCODE_RUNNER=kubernetes) and the operator runs. The operator's CRD schema is
// generated from this very object (operators/kinora-operator api/v1alpha1), so the two cannot drift apart.

export const TRANSCODE_JOB_API_VERSION = 'kinora.io/v1alpha1';
export const TRANSCODE_JOB_KIND = 'TranscodeJob';
export const TRANSCODE_JOB_PLURAL = 'transcodejobs';

/** CPU and memory requests of a Pod (Kubernetes quantities). */
export const ResourceRequestsSchema = Type.Object({
  cpu: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?m?$', description: 'CPU request, e.g. 500m or 2' })),
  memory: Type.Optional(Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$', description: 'memory request, e.g. 512Mi' })),
});
export type ResourceRequests = Static<typeof ResourceRequestsSchema>;

export const TranscodeJobSpecSchema = Type.Object({
  videoId: Type.String({ minLength: 1, maxLength: 128, description: 'the video this transcode is for (the key of its video.transcoded events)' }),
  source: Type.Object({
    key: Type.String({ minLength: 1, description: 'object-store key of the uploaded source' }),
    sizeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    durationSec: Type.Optional(Type.Number({ minimum: 0, description: 'when known: sizes the Jobs before the plan step ran' })),
    height: Type.Optional(Type.Integer({ minimum: 0, description: 'source height in pixels: sizes the Jobs (CPU and memory)' })),
  }),
  outputPrefix: Type.String({ minLength: 1, description: 'object-store prefix of the outputs (media/<videoId>/)' }),
  chunking: Type.Optional(
    Type.Object({
      chunkSeconds: Type.Integer({ minimum: 4, maximum: 3600, default: 60, description: 'target chunk length (the plan step\'s --chunk-sec); cuts fall on keyframes' }),
      maxParallel: Type.Integer({ minimum: 1, maximum: 100, default: 4, description: 'chunk Jobs running at once' }),
    }),
  ),
  maxAttempts: Type.Integer({ minimum: 1, maximum: 20, default: 3, description: 'attempts (plan, chunks, join) before the transcode is Failed' }),
  backoffSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 10, description: 'delay before attempt 2; doubles with each attempt' }),
  ttlSecondsAfterFinished: Type.Integer({ minimum: 0, default: 600, description: 'finished Jobs are deleted this long after they end' }),
  stepTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 86400, default: 7200, description: 'a step running longer fails (Job activeDeadlineSeconds), and with it the attempt' }),
  image: Type.Optional(Type.String({ minLength: 1, description: 'transcoder image; default: the operator\'s' })),
  resources: Type.Optional(ResourceRequestsSchema),
});
/** What the API server stores (defaults applied). */
export type TranscodeJobSpec = Static<typeof TranscodeJobSpecSchema>;
/** What a client may send: the fields with a CRD default may be left out. */
export type TranscodeJobSpecInput = Omit<TranscodeJobSpec, 'maxAttempts' | 'backoffSeconds' | 'ttlSecondsAfterFinished' | 'stepTimeoutSeconds'> &
  Partial<Pick<TranscodeJobSpec, 'maxAttempts' | 'backoffSeconds' | 'ttlSecondsAfterFinished' | 'stepTimeoutSeconds'>>;

/**
 * The TranscodeJob name of a video: `tj-<videoId>` when the id is a DNS label already (UUIDs are), else
 * `tj-<sha-256 prefix>`; the same video always gets the same name, so a redelivered upload finds the existing one.
 * Short enough (≤ 48) that the operator's Job names (`<name>-a<attempt>-chunk-<n>`) stay valid DNS labels.
 */
export function transcodeJobName(videoId: string, sha256Hex: (s: string) => string): string {
  const id = videoId.toLowerCase();
  if (/^[a-z0-9]([a-z0-9-]{0,42}[a-z0-9])?$/.test(id)) return `tj-${id}`;
  return `tj-${sha256Hex(videoId).slice(0, 40)}`;
}
