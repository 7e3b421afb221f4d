// `npm run dlq:replay -- <topic>`: puts the dead letters of <topic> (from <topic>.dlq) back on <topic>.
// Uses the configured bus: Kafka when KAFKA_BROKERS is set, else the in-process log in DATABASE_URL's database.
import { loadConfigOrExit } from '@kinora/config';
import { Database } from '@kinora/db';
import { createInProcessEventBus, createKafkaEventBus, type EventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { TOPICS } from '@kinora/contracts';
import { lagSourceFor } from './app.js';
import { replayDeadLetters } from './events/dlq.replay.js';

const topic = process.argv[2];
const known: string[] = Object.values(TOPICS);
if (!topic || !known.includes(topic)) {
  process.stderr.write(`usage: npm run dlq:replay -- <topic>   (one of ${known.join(', ')})\n`);
  process.exit(2);
}
const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel });
let database: Database | undefined;
let bus: EventBus;
if (config.kafkaBrokers.length > 0) {
  bus = createKafkaEventBus({ brokers: config.kafkaBrokers, clientId: 'kinora-dlq-replay', logger });
} else {
  if (!config.databaseUrl) {
    process.stderr.write('dlq:replay needs KAFKA_BROKERS, or DATABASE_URL of the database holding the in-process log (stop `npm start` first to use its embedded one)\n');
    process.exit(2);
  }
  database = new Database({ primaryUrl: config.databaseUrl, applicationName: 'kinora-dlq-replay' });
  bus = createInProcessEventBus({ pool: database.primary, logger });
}
try {
  const result = await replayDeadLetters({ bus, topic, endOffsets: lagSourceFor(bus, database), logger });
  process.stdout.write(`${JSON.stringify({ topic, ...result })}\n`);
} finally {
  await bus.close();
  await database?.close();
}
