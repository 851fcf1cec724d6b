import type { Client } from '@temporalio/client';
import type { InspectResult } from '../workflows/operations/inspect';
import { CLUSTER, OPERATION } from '../workflows/search-attributes';
import { inspectWorkflowId, TASK_QUEUE } from '../workflows/api';
import { type ClusterSpec, specAccess } from './spec';

/** Runs the inspect workflow on every server of the cluster and waits for its answer. */
export async function inspectCluster(client: Client, spec: ClusterSpec): Promise<InspectResult> {
  const stamp = new Date().toISOString();
  const handle = await client.workflow.start('inspect', {
    taskQueue: TASK_QUEUE,
    workflowId: inspectWorkflowId(spec.name, stamp),
    args: [{ cluster: spec.name, servers: spec.servers.map((s) => s.address), access: specAccess(spec) }],
    typedSearchAttributes: [{ key: CLUSTER, value: spec.name }, { key: OPERATION, value: 'inspect' }],
    staticSummary: `inspect cluster ${spec.name}: ${spec.servers.length} servers`,
    workflowExecutionTimeout: '2 minutes',
  });
  return handle.result();
}

export function formatInspection(result: InspectResult): string {
  const rows = result.servers.map((s) => {
    if (!s.reachable) return [s.address, 'unreachable', '', '', '', s.error];
    const r = s.replication;
    const role = r ? `replica of ${r.sourceHost}:${r.sourcePort}` : 'no source';
    const threads = r ? `io=${r.ioRunning ? 'yes' : r.ioConnecting ? 'connecting' : 'no'} sql=${r.sqlRunning ? 'yes' : 'no'}` : '';
    return [s.address, s.version, `server_id=${s.serverId}`, s.readOnly ? 'read-only' : 'writable', `gtid=${s.executed || '(empty)'}`, `${role} ${threads}`.trim()];
  });
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return [`cluster ${result.cluster}`, ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd())].join('\n');
}
