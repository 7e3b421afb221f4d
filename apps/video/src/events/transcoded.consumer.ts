import { Value } from '@sinclair/typebox/value';
import {
  EVENT_TYPES,
  TOPICS,
  TranscodeFailedV1,
  TranscodeProgressV1,
  TranscodeSucceededV1,
} from '@kinora/contracts';
import type { EventBus, EventEnvelope, Subscription } from '@kinora/events';
import type { ProcessingService } from '../services/processing.service.js';
import type { ServiceLogger } from '../services/video.service.js';

export const VIDEO_SERVICE_GROUP = 'video-service';

/**
 * Consumes `video.transcoded` as group `video-service`. A message that is not a well-formed event of a known type
 * is logged and skipped (it would never get better); a handler that throws (database down) makes the bus deliver
 * the batch again after a backoff, and the handlers are idempotent.
 */
export async function consumeTranscoded(bus: EventBus, processing: ProcessingService, logger: ServiceLogger): Promise<Subscription> {
  return bus.subscribe<EventEnvelope<unknown>>({
    group: VIDEO_SERVICE_GROUP,
    topics: [TOPICS.videoTranscoded],
    handler: async (batch) => {
      for (const message of batch.messages) {
        const event = message.value;
        const where = { topic: message.topic, partition: message.partition, offset: message.offset };
        if (!event || typeof event !== 'object' || typeof event.type !== 'string') {
          logger.warn(where, 'skipping a message that is not an event');
          continue;
        }
        switch (event.type) {
          case EVENT_TYPES.transcodeProgress:
            if (Value.Check(TranscodeProgressV1, event.payload)) await processing.progress(event.payload);
            else logger.warn({ ...where, type: event.type }, 'skipping a malformed event');
            break;
          case EVENT_TYPES.transcodeSucceeded:
            if (Value.Check(TranscodeSucceededV1, event.payload)) await processing.succeeded(event.payload);
            else logger.warn({ ...where, type: event.type }, 'skipping a malformed event');
            break;
          case EVENT_TYPES.transcodeFailed:
            if (Value.Check(TranscodeFailedV1, event.payload)) await processing.failed(event.payload);
            else logger.warn({ ...where, type: event.type }, 'skipping a malformed event');
            break;
          default:
            break; // other event types on this topic are not ours to handle
        }
      }
    },
  });
}
