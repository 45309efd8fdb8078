// Free loopback ports for test processes. The kernel picks a free port when we bind port 0; we close
// the socket and hand the number on. Another process may grab it in between, so callers that start a
// server on it must retry on EADDRINUSE (see startEtcd).

import net from 'node:net';

export const LOOPBACK_HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listen address ${String(address)}`));
        return;
      }
      const port = address.port;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/** Two distinct free ports (client and peer). */
export async function freePortPair(): Promise<[number, number]> {
  const first = await freePort();
  for (let attempt = 0; attempt < 10; attempt++) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
  throw new Error('could not find two distinct free ports');
}
