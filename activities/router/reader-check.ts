/**
 * The health check of every server in the reader backend: a TCP connect
 * every second, DOWN after two failures, UP after one success. The
 * sandbox's configuration (client/local/haproxy.ts) and a server added at
 * runtime (addToRouter) get the same one. The writer backend has none:
 * which server is the writer is gtidflow's decision, never the proxy's.
 */
export const READER_CHECK = 'check inter 1s fall 2 rise 1';
