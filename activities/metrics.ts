import { Context } from '@temporalio/activity';

/** Metrics from activities go to the worker's Prometheus endpoint; outside a worker there is nowhere to send them. */
function meter() {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

export function failureDetected(cluster: string, server: string): void {
  meter()?.createCounter('gtidflow_connection_failures', '1', 'failed connections to a server of a cluster').withTags({ cluster, server }).add(1);
}

export function replicationLag(cluster: string, server: string, seconds: number): void {
  meter()?.createGauge('gtidflow_replication_lag_seconds', 'float', 's', 'Seconds_Behind_Master of a replica').withTags({ cluster, server }).set(seconds);
}
