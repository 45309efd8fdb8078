// One method's JSON ↔ protobuf translation. etcd's gateway is a gRPC client of its own server, so
// a request crosses the protobuf wire format before a handler sees it; doing the same here means a
// handler gets exactly the object a gRPC client's request would give it (defaults dropped, int64
// normalised), and every response is encoded with the same serializer gRPC clients read.

import type { MethodDefinition } from '@grpc/grpc-js';
import type { ProtoObject } from '../api/convert.js';
import { GrpcError, messageTooLarge, Status } from '../api/errors.js';
import { decodeMessage } from './json-request.js';
import { encodeMessage } from './json-response.js';
import { parseValidJson } from './json-tree.js';
import type { Route } from './routes.js';

export class MessageCodec {
  constructor(
    private readonly route: Route,
    private readonly definition: MethodDefinition<unknown, unknown>,
    /** The gRPC server's limit on a request message (GrpcServerOptions.maxReceiveMessageBytes). */
    private readonly maxRequestBytes: number,
  ) {}

  /**
   * The request a handler gets for one JSON value (already checked by go-json.ts). Throws
   * JsonRequestError when the JSON does not fit the message, GrpcError when it is too large.
   */
  request(json: Uint8Array): unknown {
    const message = decodeMessage(this.route.requestType, parseValidJson(json));
    const wire = this.definition.requestSerialize(message);
    if (wire.length > this.maxRequestBytes) {
      // The text gRPC clients get for the same request (grpc-server.ts MessageReader).
      throw new GrpcError(Status.RESOURCE_EXHAUSTED, messageTooLarge(wire.length, this.maxRequestBytes));
    }
    return this.definition.requestDeserialize(wire);
  }

  /** A handler's response as the JSON etcd's gateway writes for it. */
  response(message: unknown): string {
    const decoded = this.definition.responseDeserialize(this.definition.responseSerialize(message));
    return encodeMessage(this.route.responseType, decoded as ProtoObject);
  }
}
