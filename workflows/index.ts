/** Every workflow the worker registers (the bundle's entry point). */
export { inspect } from './inspect';
export { cluster } from './cluster';
export { bootstrap } from './bootstrap';
export { switchover } from './switchover';
export { failover } from './failover';
export { health } from './health';
export { healthTick } from './health-tick';
export { reconfigure } from './reconfigure';
export { rejoin } from './rejoin';
export { addServer, removeServer } from './membership';
