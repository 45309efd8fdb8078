// Asking a running member which cluster it belongs to: a member started with
// --initial-cluster-state existing uses this to learn the cluster id and its own member id
// before it opens its log.

import { connect } from 'node:net';
import tls from 'node:tls';
import { MessageCodec } from './codec.js';
import type { ClusterInfo } from './config.js';
import { FrameError } from './errors.js';
import { FrameDecoder, FrameType } from './frame.js';
import { encodeHelloFrame, PROTOCOL_VERSION } from './handshake.js';
import { readArray, readId } from './wire-values.js';

/** `secureWith`: dial with TLS using these options (the member's peer URL is https://). */
export function probeCluster(
  host: string,
  port: number,
  timeoutMs: number,
  secureWith: tls.ConnectionOptions | null = null,
): Promise<ClusterInfo> {
  const codec = new MessageCodec();
  return new Promise((resolve, reject) => {
    const socket = secureWith === null ? connect({ host, port }) : tls.connect({ ...secureWith, host, port });
    const decoder = new FrameDecoder();
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.on('error', fail);
    socket.on(secureWith === null ? 'connect' : 'secureConnect', () => {
      socket.write(
        encodeHelloFrame(codec, { protocolVersion: PROTOCOL_VERSION, clusterId: 0n, fromId: 0n, toId: 0n }),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
        const frame = decoder.next();
        if (frame === null) return;
        if (frame.type !== FrameType.ClusterInfo)
          throw new FrameError(`expected ClusterInfo, got ${FrameType[frame.type]}`);
        const [clusterId, rawMembers] = readArray(codec.unpack(frame.payload), 'clusterInfo', 2);
        const members = (rawMembers as unknown[]).map((raw) => {
          const [id, peerUrls] = readArray(raw, 'clusterInfo.member', 2);
          return { id: readId(id, 'member.id'), peerUrls: (peerUrls as unknown[]).map(String) };
        });
        socket.destroy();
        resolve({ clusterId: readId(clusterId, 'clusterId'), members });
      } catch (error) {
        fail(error as Error);
      }
    });
    socket.on('close', () => reject(new Error(closedWithoutAnswer(host, port, secureWith !== null))));
  });
}

function closedWithoutAnswer(host: string, port: number, secure: boolean): string {
  if (!secure) return `${host}:${port} closed without answering`;
  // With TLS 1.3 a listener that refuses our certificate does so after our side of the handshake
  // is done: all we see is the close. The listener's log names the reason.
  return (
    `${host}:${port} closed the TLS connection without answering: it may have refused this ` +
    "member's certificate (--peer-cert-file must be signed by the CA in its --peer-trusted-ca-file; " +
    'its log says why)'
  );
}
