// Typed transport errors. Input from the network is parsed at the edge (STYLE.md): a frame or
// payload that does not fit the wire format becomes a FrameError, and the connection that sent
// it is closed. Nothing half-decoded ever reaches raft.

/** A frame, or the payload inside it, does not match the wire format. The connection is unusable. */
export class FrameError extends Error {
  constructor(readonly reason: string) {
    super(`transport: bad frame: ${reason}`);
    this.name = 'FrameError';
  }
}
