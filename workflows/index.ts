/** Every workflow the worker registers (the bundle's entry point). */
export { inspect } from './operations/inspect';
export { cluster } from './cluster';
export { bootstrap } from './operations/bootstrap';
export { switchover } from './operations/switchover';
export { failover } from './operations/failover';
export { health } from './operations/health';
export { healthTick } from './health-tick';
export { reconfigure } from './operations/reconfigure';
export { rejoin } from './operations/rejoin';
export { addServer, removeServer } from './operations/membership';
export { shards } from './shards';
export { shardMove } from './operations/shard-move';
