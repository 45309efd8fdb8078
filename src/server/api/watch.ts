// etcdserverpb.Watch: one WatchStream of the node's hub per gRPC stream, with backpressure:
// when the client reads slowly the stream pauses and its watchers fall back to history.

import { permissionDenied } from '../../auth/errors.js';
import { rangeNeeds } from '../../auth/needs.js';
import type { WatchCreate } from '../../watch/messages.js';
import type { FlotillaNode } from '../node.js';
import { requireKeys } from './authorize.js';
import { toServiceError } from './errors.js';
import type { StreamCall } from './stream-call.js';

export function watchService(node: FlotillaNode) {
  return {
    Watch(call: StreamCall): void {
      const stream = node.watchHub.openStream((create) => watchRefusal(node, call, create));
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

/**
 * etcd's isWatchPermitted: read permission on the watched range, for the user of the token the
 * stream opened with. Refused watches are canceled with the text of etcd's gRPC error
 * (rpctypes.ErrGRPCPermissionDenied.Error()), whatever the reason (etcd answers the same for a
 * bad token).
 */
function watchRefusal(node: FlotillaNode, call: StreamCall, create: WatchCreate): string | null {
  try {
    requireKeys(node, call.metadata, rangeNeeds({ key: create.key, rangeEnd: create.rangeEnd }));
    return null;
  } catch {
    // Any refusal (bad token, no user, no permission) cancels the watch alike, as in etcd.
    return `rpc error: code = PermissionDenied desc = ${permissionDenied().message}`;
  }
}
