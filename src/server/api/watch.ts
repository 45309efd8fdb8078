// etcdserverpb.Watch: one WatchStream of the node's hub per gRPC stream, with backpressure:
// when the client reads slowly the stream pauses and its watchers fall back to history.

import type * as grpc from '@grpc/grpc-js';
import type { FlotillaNode } from '../node.js';
import type { ProtoObject } from './convert.js';
import { toServiceError } from './errors.js';

export function watchService(node: FlotillaNode) {
  return {
    Watch(call: grpc.ServerDuplexStream<ProtoObject, ProtoObject>): void {
      const stream = node.watchHub.openStream();
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        stream.close();
      };
      stream.onResponse((response) => call.write(response as unknown as ProtoObject));
      call.on('drain', () => stream.resume());
      call.on('data', (request: unknown) => {
        try {
          stream.handle(request);
        } catch (error) {
          close();
          call.destroy(Object.assign(new Error(String((error as Error).message)), toServiceError(error)));
        }
      });
      call.on('end', () => {
        close();
        call.end();
      });
      call.on('cancelled', close);
      call.on('close', close);
      call.on('error', close);
    },
  };
}
