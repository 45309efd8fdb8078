// A deliberately fragile gRPC server, for proving the client-port fuzzer catches a crash: it
// parses the first protobuf tag of each request by hand and throws, uncaught, on the invalid
// wire types 6 and 7 — the kind of bug a real parser must not have. Run as a child process;
// prints its port on stdout. Never used outside test/fuzz/fragile.test.ts.

import http2 from 'node:http2';

const server = http2.createServer();
server.on('stream', (stream) => {
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    const data = Buffer.concat(chunks);
    if (data.length > 5 && data[0] === 0) {
      const wireType = data[5] & 0x07;
      if (wireType === 6 || wireType === 7) throw new Error(`fragile: wire type ${wireType}`);
    }
  });
  stream.on('end', () => {
    if (!stream.destroyed && !stream.closed) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
        { endStream: true },
      );
    }
  });
});
server.on('session', (session) => session.on('error', () => undefined));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
