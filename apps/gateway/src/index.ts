export { gatewayPlugin } from './gateway.plugin.js';
export type { GatewayOptions } from './gateway.plugin.js';
