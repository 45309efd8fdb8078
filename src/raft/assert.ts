// Invariant assertions. They stay on in production: a broken invariant stops the node rather
// than letting it acknowledge or apply something it should not (STYLE.md, TigerBeetle).

export class InvariantError extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantError';
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
