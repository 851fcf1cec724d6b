import type { OperationContext, ServerRecord } from '../../model';
import type { ActivityOptions } from '@temporalio/workflow';
import { activity, PERSISTENT } from '../../steps';

/** Who serves reads: live replicas whose capability allows it. */
export function readersOf(servers: ServerRecord[], primary: string): string[] {
  return servers.filter((s) => s.address !== primary && s.status !== 'FAULTY' && s.capability !== 'disabled').map((s) => s.address);
}

/** Points the router's writer at `primary` and its readers at the rest; nothing to do without a router. */
export async function route(input: OperationContext, primary: string, servers: ServerRecord[], options: ActivityOptions = PERSISTENT): Promise<void> {
  const router = input.config.router;
  if (!router) return;
  await activity('routeWriter', `route writes to ${primary}`, options)({ router, writer: primary, readers: readersOf(servers, primary) });
}
