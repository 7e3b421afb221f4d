export { inTransactionPublisher, OutboxRelay, OutboxWriter, outboxMigrationsDir } from './outbox.js';
export type { OutboxRelayOptions, TransactionalPublisher } from './outbox.js';
