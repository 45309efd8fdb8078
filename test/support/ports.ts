// Free loopback ports for test processes. Ports come from below the kernel's ephemeral range
// (32768–60999 on Linux): a port picked by binding port 0 is an ephemeral one, and between closing
// it and the server under test binding it, any outgoing connection on the machine (members
// dialling each other, clients, the fuzzers' thousands of connections) may take it — CI saw
// EADDRINUSE that way. A random port in PORT_RANGE is bind-checked first and never handed out twice
// by this process. Another test process may still pick the same number in the same instant, so
// callers that start a server on it may retry on EADDRINUSE (see startEtcd).

import { randomInt } from 'node:crypto';
import net from 'node:net';

export const LOOPBACK_HOST = '127.0.0.1';

/** Below Linux's default ephemeral range, above the well-known and most registered services. */
const PORT_RANGE = { min: 20_000, max: 32_000 } as const;
const ATTEMPTS_MAX = 100;
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    const port = randomInt(PORT_RANGE.min, PORT_RANGE.max);
    if (handedOut.has(port) || !(await canBind(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.min}–${PORT_RANGE.max} after ${ATTEMPTS_MAX} attempts`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK_HOST, () => server.close(() => resolve(true)));
  });
}

/** Two distinct free ports (client and peer). */
export async function freePortPair(): Promise<[number, number]> {
  return [await freePort(), await freePort()];
}
