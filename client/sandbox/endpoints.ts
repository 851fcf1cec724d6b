import type { LocalAccounts } from '../local/cluster';
import type { ShardMap } from '../../workflows/shard-model';
import { type SandboxState, sandboxClusters } from './state';

/** What `sandbox up --json` prints: addresses and password files, never a password. */
export interface SandboxEndpoints {
  temporal: { address: string; ui: string | null };
  /** Every cluster, the first ("sandbox") first. */
  clusters: {
    name: string;
    servers: { host: string; port: number }[];
    writer: { host: string; port: number };
    reader: { host: string; port: number };
  }[];
  credentials: {
    admin: { user: string; passwordFile: string };
    app: { user: string; passwordFile: string };
  };
  /** The database shards' own writer endpoints (gtidflow shard add), with the cluster holding each. */
  shards: { name: string; cluster: string; endpoint: { host: string; port: number } }[];
}

const LOOPBACK = '127.0.0.1';

export function sandboxEndpoints(state: SandboxState, accounts: LocalAccounts, map: ShardMap): SandboxEndpoints {
  const t = state.temporal;
  return {
    temporal: 'port' in t ? { address: `${LOOPBACK}:${t.port}`, ui: `http://${LOOPBACK}:${t.uiPort}` } : { address: t.external, ui: null },
    clusters: sandboxClusters(state).map((c) => ({
      name: c.name,
      servers: c.servers.map((s) => ({ host: LOOPBACK, port: s.port })),
      writer: { host: LOOPBACK, port: c.endpoints.writerPort },
      reader: { host: LOOPBACK, port: c.endpoints.readerPort },
    })),
    credentials: {
      admin: { user: accounts.admin.user, passwordFile: accounts.admin.passwordFile! },
      app: { user: accounts.app.user, passwordFile: accounts.app.passwordFile! },
    },
    shards: map.shards.flatMap((s) => (s.kind === 'database' && s.endpoint ? [{ name: s.name, cluster: s.cluster, endpoint: s.endpoint }] : [])),
  };
}
