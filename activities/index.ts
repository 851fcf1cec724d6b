/** Every activity the worker registers; workflows import only the type of this module. */
export { getServerState, probeServer } from './server-state';
export { setReadOnly } from './read-only';
export { setSemiSync } from './semi-sync';
export { changeSource, resetReplication, startReplication, stopReplication } from './replication';
