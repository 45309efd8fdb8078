// etcdserverpb.Watch: one WatchStream of the node's hub per gRPC stream, with backpressure:
// when the client reads slowly the stream pauses and its watchers fall back to history.

import type { FlotillaNode } from '../node.js';
import { toServiceError } from './errors.js';
import type { StreamCall } from './stream-call.js';

export function watchService(node: FlotillaNode) {
  return {
    Watch(call: StreamCall): void {
      const stream = node.watchHub.openStream();
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        stream.close();
      };
      stream.onResponse((response) => call.write(response));
      call.on('drain', () => stream.resume());
      call.on('data', (request: unknown) => {
        try {
          stream.handle(request);
        } catch (error) {
          close();
          call.destroy(toServiceError(error));
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
