// Test helpers for adapters of the EventBus port. A separate entry point (`@kinora/events/testing`) because the
// contract suite imports `@jest/globals`, which must never load in a running service.
export { describeEventBusContract } from './event-bus.contract.js';
export type { EventBusContractContext, EventBusContractOptions } from './event-bus.contract.js';
export { sleep, waitFor } from './wait-for.js';
