/** Servers are named by "host:port" everywhere: in specs, state, ids and the CLI. */
export interface HostPort {
  host: string;
  port: number;
}

export function parseAddress(address: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(address.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) throw new Error(`invalid server address "${address}": expected host:port`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/** The refusal every lookup of a server by address gives. */
export function notAServer(address: string): string {
  return `${address} is not a server of this cluster`;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The server a replica replicates from, named like every other. */
export function sourceAddress(replication: { sourceHost: string; sourcePort: number }): string {
  return formatAddress(replication.sourceHost, replication.sourcePort);
}
