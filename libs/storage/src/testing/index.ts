export { describeObjectStoreContract, readBody, INVALID_KEYS } from './object-store.contract.js';
