/** Every activity the worker registers; workflows import only the type of this module. */
export { getServerState, probeServer } from './server-state';
export { setReadOnly } from './read-only';
export { setSemiSync } from './semi-sync';
export { changeSource, freezeReplica, resetReplication, startReplication, stopReplication } from './replication';
export { waitForGtid } from './wait-for-gtid';
export { killClientConnections } from './sessions';
export { promote } from './promote';
export { checkJoinable } from './joinable';
export { adoptClonePosition, provision } from './provision';
export { publishTopology, readPublishedView } from './topology';
export { runHook } from './hooks';
export { fenceWriter, readRoutes, routeWriter } from './router/haproxy';
export { monitorPrimary } from './monitor';
export { addToRouter, removeFromRouter } from './router/membership';
export { openShardEndpoint, routeShard } from './router/shard-endpoint';
export { checkServerConfig } from './server-config';
export { freezeWrites, thawWrites } from './freeze';
