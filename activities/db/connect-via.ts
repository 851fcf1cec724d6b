import { parseAddress, type HostPort } from '../../workflows/logic/address';

/**
 * Where this worker opens its own connections to a server, when that is not
 * the server's recorded address: a tunnel, a bastion's forward, or a proxy
 * on the manager's network path. Replicas keep using the recorded address.
 * GTIDFLOW_CONNECT_VIA="db1:3306=127.0.0.1:13306,db2:3306=127.0.0.1:13307".
 */
export function connectTarget(address: string, via = process.env.GTIDFLOW_CONNECT_VIA ?? ''): HostPort {
  for (const pair of via.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [from, to] = pair.split('=');
    if (!to) throw new Error(`GTIDFLOW_CONNECT_VIA: "${pair}" is not recorded=reachable`);
    if (from.trim() === address) return parseAddress(to.trim());
  }
  return parseAddress(address);
}
