import type { Client } from '@temporalio/client';
import type { Access } from '../activities/db/connection';
import { probeServer } from '../activities/server-state';
import { sourceAddress } from '../workflows/logic/address';
import { ASYNC_PRIMARY } from '../workflows/logic/health';
import type { Warning } from '../workflows/logic/warnings';
import type { memoOf } from '../workflows/memo';
import { clusterWorkflowId } from '../workflows/api';

export interface ClusterStatus {
  cluster: string;
  viewId: number;
  primary: string;
  servers: { address: string; status: string; readOnly: boolean | null; replicatingFrom: string | null; gtid: string | null; penalty: number; error?: string }[];
  operation: ReturnType<typeof memoOf>['operation'];
  lastOperation: ReturnType<typeof memoOf>['lastOperation'];
  warnings: Warning[];
  health: ReturnType<typeof memoOf>['health'];
}

/**
 * The recorded state from the conductor's memo (no worker needed), with
 * each server's live facts read directly by this process.
 */
export async function clusterStatus(client: Client, cluster: string): Promise<ClusterStatus> {
  let memo: ReturnType<typeof memoOf> & { access: Access };
  try {
    const described = await client.workflow.getHandle(clusterWorkflowId(cluster)).describe();
    memo = (await described.memo)?.state as typeof memo;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') throw new Error(`unknown cluster "${cluster}": register it with gtidflow cluster apply -f`);
    throw err;
  }
  let asynchronous = false;
  const servers = await Promise.all(memo.servers.map(async (s) => {
    const live = await probeServer({ address: s.address, access: { ...memo.access, connectTimeoutMs: 1000 } });
    if (live.reachable && s.address === memo.primary && !live.semiSync.primaryActive) asynchronous = true;
    return live.reachable
      ? { address: s.address, status: s.status, readOnly: live.readOnly, gtid: live.executed, penalty: s.penalty,
          replicatingFrom: live.replication ? sourceAddress(live.replication) : null }
      : { address: s.address, status: s.status, readOnly: null, replicatingFrom: null, gtid: null, penalty: s.penalty, error: live.error };
  }));
  // Semi-sync is what keeps an acknowledged write on a replica: without it a failover may lose some.
  const warnings: Warning[] = asynchronous
    ? [...memo.warnings, { code: 'primary-async', server: memo.primary, text: `${ASYNC_PRIMARY} (semi-sync is not active on ${memo.primary})` }]
    : memo.warnings;
  return { cluster, viewId: memo.viewId, primary: memo.primary, servers, operation: memo.operation, lastOperation: memo.lastOperation, warnings, health: memo.health };
}

export function formatStatus(status: ClusterStatus): string {
  const op = status.operation ? `running ${status.operation.kind} #${status.operation.id}` : 'idle';
  const last = status.lastOperation ? `; last: ${status.lastOperation.kind} #${status.lastOperation.id} ${status.lastOperation.outcome}: ${status.lastOperation.message}` : '';
  const rows = status.servers.map((s) => [
    s.address, s.status, `penalty=${s.penalty}`,
    s.error ? 'unreachable' : s.readOnly ? 'read-only' : 'writable',
    s.replicatingFrom ? `replicates from ${s.replicatingFrom}` : s.error ? s.error : 'replicates from nobody',
    s.gtid !== null ? `gtid=${s.gtid || '(empty)'}` : '',
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return [
    `cluster ${status.cluster}: view ${status.viewId}, primary ${status.primary}, ${op}${last}`,
    ...status.warnings.map((w) => `WARNING: ${w.text}`),
    ...(status.health ? [`health at ${status.health.at}: ${status.health.findings.length ? '' : 'healthy'}`,
      // A round recorded before findings had codes has `problem`, not `text` (the next round replaces it).
      ...status.health.findings.map((f) => `  ${f.server}: ${f.text ?? (f as { problem?: string }).problem}${f.repair ? ` (repaired: ${f.repair})` : ''}`)] : []),
    ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()),
  ].join('\n');
}
