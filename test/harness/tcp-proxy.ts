import * as net from 'node:net';
import { freePort } from '../../client/local/ports';
import { atEnd } from './cleanup';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones: a cut network path. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /**
   * A server that logs clients in and then answers nothing: every
   * connection, open or new, passes the server's bytes and the client's
   * first packet (its login), then drops what the client sends; nothing is
   * closed. Until `answer()`.
   */
  hang(): void;
  answer(): void;
}

/** A TCP forwarder on loopback to `targetPort`: a network path a test can cut. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let hanging = false;
  const listen = () => new Promise<void>((resolve, reject) => {
    server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      let packets = 0;
      client.on('data', (d) => void (packets++ === 0 || !hanging ? upstream.write(d) : undefined));
      upstream.pipe(client);
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
  return { port, cut, restore: listen, hang: () => void (hanging = true), answer: () => void (hanging = false) };
}
