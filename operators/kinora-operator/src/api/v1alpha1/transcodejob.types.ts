import { Type, type Static } from '@sinclair/typebox';
import type { TranscodeJobSpec } from '@kinora/contracts';
import { TranscodeJobSpecSchema } from '@kinora/contracts';
import { ConditionsSchema, StringEnum, type CustomResource, type KindDefinition } from './common.types.js';

export const TRANSCODE_PHASES = ['Pending', 'Planning', 'Encoding', 'Joining', 'Retrying', 'Succeeded', 'Failed'] as const;
export type TranscodePhase = (typeof TRANSCODE_PHASES)[number];

// The spec lives in libs/contracts: the transcoder (cluster mode) writes it, the CRD is generated from it.
export { TranscodeJobSpecSchema, type TranscodeJobSpec } from '@kinora/contracts';

export const TranscodeJobStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  phase: Type.Optional(StringEnum(TRANSCODE_PHASES)),
  progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'percent of the work of the current attempt done' })),
  attempts: Type.Optional(Type.Integer({ minimum: 0, description: 'attempts started' })),
  chunks: Type.Optional(
    Type.Object({
      total: Type.Integer({ minimum: 0 }),
      succeeded: Type.Integer({ minimum: 0 }),
      done: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { description: 'indexes of the chunks encoded in this attempt' })),
    }),
  ),
  audioDone: Type.Optional(Type.Boolean({ description: 'the audio step of this attempt finished' })),
  durationSec: Type.Optional(Type.Number({ minimum: 0, description: 'source duration found by the plan step' })),
  startTime: Type.Optional(Type.String({ format: 'date-time' })),
  completionTime: Type.Optional(Type.String({ format: 'date-time' })),
  nextAttemptTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastFailure: Type.Optional(Type.String({ maxLength: 4096 })),
  eventPublished: Type.Optional(Type.Boolean({ description: 'the outcome was published as a video.transcoded event' })),
  result: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'what the join step reported' })),
  conditions: Type.Optional(ConditionsSchema),
});
export type TranscodeJobStatus = Static<typeof TranscodeJobStatusSchema>;

export type TranscodeJob = CustomResource<TranscodeJobSpec, TranscodeJobStatus>;

export const TranscodeJobKind: KindDefinition = {
  kind: 'TranscodeJob',
  plural: 'transcodejobs',
  singular: 'transcodejob',
  shortNames: ['tj'],
  categories: ['kinora'],
  scope: 'Namespaced',
  description: 'One video\'s transcode, run as batch/v1 Jobs (plan, parallel chunks and audio, join) with retries.',
  spec: TranscodeJobSpecSchema,
  status: TranscodeJobStatusSchema,
  printerColumns: [
    { name: 'Video', type: 'string', jsonPath: '.spec.videoId' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.progress', description: 'percent' },
    { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts' },
    { name: 'Chunks', type: 'integer', jsonPath: '.status.chunks.total', priority: 1 },
    { name: 'Failure', type: 'string', jsonPath: '.status.lastFailure', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
