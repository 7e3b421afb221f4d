import { logLevel, type logCreator } from 'kafkajs';
import type { EventBusLogger } from '../../event-bus.js';

/**
 * KafkaJS's log lines into the bus's logger. KafkaJS logs routine group events (joins, pauses, seeks) at INFO;
 * those become debug lines so a healthy consumer stays quiet, while its warnings and errors keep their level.
 */
export function kafkaLogCreator(logger: EventBusLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log as { message: string; timestamp: string; logger?: string };
      const obj = { component: 'kafkajs', namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(obj, message);
      else if (level === logLevel.WARN) logger.warn(obj, message);
      else logger.debug(obj, message);
    };
}
