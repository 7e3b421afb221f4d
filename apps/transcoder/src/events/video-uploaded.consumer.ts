import { Value } from '@sinclair/typebox/value';
import { EVENT_TYPES, TOPICS, VideoUploadedV1 } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { ConsumedMessage, EventBus, EventBusLogger, Subscription } from '@kinora/events';
import type { JobRepository, NewJob } from '../repositories/job.repository.js';
import type { TranscodeEventPublisher } from './transcode.events.js';

export const CONSUMER_GROUP = 'transcoder';

export interface VideoUploadedConsumerDeps {
  bus: EventBus;
  database: Database;
  jobs: JobRepository;
  publisher: TranscodeEventPublisher;
  logger: EventBusLogger;
  /** Called after a batch queued new work (wakes the local worker at once). */
  onQueued: () => void;
  /**
   * The kubernetes runner: each upload becomes a TranscodeJob (created, or found there already) instead of a row of
   * the local job table. A failure (API server unreachable, 403, ...) fails the batch, so the bus delivers it again.
   */
  cluster?: ClusterRunner;
}

/** Hands one upload to the cluster (a TranscodeJob); throws when it cannot, so the event is retried. */
export interface ClusterRunner {
  readonly namespace: string;
  submit(upload: VideoUploadedV1): Promise<{ name: string; outcome: 'created' | 'exists' }>;
}

/**
 * `video.lifecycle` → jobs. Only `VideoUploaded.v1` matters here; other types pass by. The jobs of a batch are
 * written in one transaction before the batch is committed, so a crash redelivers the batch and the insert is
 * idempotent (one job per video and source). A malformed upload event goes to `video.lifecycle.dlq` instead of
 * blocking its partition.
 */
export function subscribeVideoUploaded(deps: VideoUploadedConsumerDeps): Promise<Subscription> {
  return deps.bus.subscribe<unknown>({
    group: CONSUMER_GROUP,
    topics: [TOPICS.videoLifecycle],
    maxBatchSize: 100,
    fromBeginning: true,
    handler: async (batch) => {
      const jobs: NewJob[] = [];
      const rejected: Array<{ message: ConsumedMessage<unknown>; error: string }> = [];
      for (const m of batch.messages) {
        const envelope = m.value as { id?: unknown; type?: unknown; payload?: unknown } | null;
        const type = m.headers['event-type'] ?? (typeof envelope?.type === 'string' ? envelope.type : undefined);
        if (type !== EVENT_TYPES.videoUploaded) continue;
        const error = invalidUpload(envelope);
        if (error) {
          rejected.push({ message: m, error });
          continue;
        }
        const p = envelope!.payload as VideoUploadedV1;
        jobs.push({ videoId: p.videoId, sourceKey: p.sourceKey, outputPrefix: p.outputPrefix, sizeBytes: p.sizeBytes, eventId: String(envelope!.id) });
      }
      if (jobs.length === 0 && rejected.length === 0) return;
      if (deps.cluster) return submitToCluster(deps, deps.cluster, batch.topic, jobs, rejected);

      const result = await deps.database.transaction(async (client) => {
        const r = await deps.jobs.enqueue(client, jobs);
        if (rejected.length > 0) {
          await deps.publisher.deadLetter(
            client,
            batch.topic,
            rejected.map(({ message, error }) => ({
              key: message.key,
              value: message.value,
              headers: { ...message.headers, 'dlq-error': error, 'dlq-source': `${message.topic}/${message.partition}/${message.offset}` },
            })),
          );
        }
        return r;
      });
      for (const { message, error } of rejected) {
        deps.logger.error({ topic: message.topic, partition: message.partition, offset: message.offset, error }, 'malformed VideoUploaded event sent to the DLQ');
      }
      if (result.inserted.length + result.requeued.length > 0) {
        deps.logger.info({ inserted: result.inserted, requeued: result.requeued }, 'transcode jobs queued');
        deps.onQueued();
      }
      if (result.duplicates.length > 0) deps.logger.debug({ videoIds: result.duplicates }, 'repeated VideoUploaded events ignored');
    },
  });
}

/** Kubernetes runner: dead-letter the malformed events, then create one TranscodeJob per upload (in order). */
async function submitToCluster(
  deps: VideoUploadedConsumerDeps,
  cluster: ClusterRunner,
  topic: string,
  jobs: NewJob[],
  rejected: Array<{ message: ConsumedMessage<unknown>; error: string }>,
): Promise<void> {
  if (rejected.length > 0) {
    await deps.database.transaction((client) =>
      deps.publisher.deadLetter(
        client,
        topic,
        rejected.map(({ message, error }) => ({
          key: message.key,
          value: message.value,
          headers: { ...message.headers, 'dlq-error': error, 'dlq-source': `${message.topic}/${message.partition}/${message.offset}` },
        })),
      ),
    );
    for (const { message, error } of rejected) {
      deps.logger.error({ topic: message.topic, partition: message.partition, offset: message.offset, error }, 'malformed VideoUploaded event sent to the DLQ');
    }
  }
  for (const j of jobs) {
    try {
      const { name, outcome } = await cluster.submit({ videoId: j.videoId, sourceKey: j.sourceKey, outputPrefix: j.outputPrefix, sizeBytes: j.sizeBytes });
      if (outcome === 'created') deps.logger.info({ videoId: j.videoId, transcodeJob: name, namespace: cluster.namespace }, 'TranscodeJob created');
      else deps.logger.debug({ videoId: j.videoId, transcodeJob: name }, 'TranscodeJob exists already (repeated VideoUploaded event)');
    } catch (err) {
      // Thrown on: the bus delivers the batch again after a backoff (uploads already submitted answer AlreadyExists).
      deps.logger.error(
        { err, videoId: j.videoId, namespace: cluster.namespace, eventId: j.eventId },
        'could not create the TranscodeJob (is the API server reachable, may this ServiceAccount create transcodejobs.kinora.io?); the upload event will be delivered again',
      );
      throw err;
    }
  }
}

function invalidUpload(envelope: { id?: unknown; payload?: unknown } | null): string | null {
  if (!envelope || typeof envelope.id !== 'string' || envelope.id === '') return 'not an event envelope (no id)';
  if (!Value.Check(VideoUploadedV1, envelope.payload)) {
    const first = [...Value.Errors(VideoUploadedV1, envelope.payload)][0];
    return `payload does not match VideoUploaded.v1${first ? `: ${first.path || '/'} ${first.message}` : ''}`;
  }
  // The video id keys the job and every event about it: it cannot be empty.
  if ((envelope.payload as VideoUploadedV1).videoId.trim() === '') return 'payload has an empty videoId';
  return null;
}
