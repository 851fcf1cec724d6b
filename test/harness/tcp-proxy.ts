import * as net from 'node:net';
import { freePort } from '../../client/local/ports';
import { atEnd } from './cleanup';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones: a cut network path. */
  cut(): Promise<void>;
  restore(): Promise<void>;
}

/** A TCP forwarder on loopback to `targetPort`: a network path a test can cut. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = () => new Promise<void>((resolve, reject) => {
    server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const cut = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await listen();
  atEnd(cut);
  return { port, cut, restore: listen };
}
