// Plain HTTP/1.1 calls to an etcd JSON gateway (real etcd's or Flotilla's), answering with what a
// comparison needs: the status code and the body, parsed when it is JSON. Streams are read line by
// line until the caller has seen enough, the server ends them, or a bounded wait runs out.

import http from 'node:http';

/** Per-request bound: a hung server fails the test instead of hanging it. */
const REQUEST_TIMEOUT_MS = 10_000;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface HttpAnswer {
  readonly status: number;
  /** The body parsed as JSON, or its text when it is not JSON. */
  readonly body: Json;
}

function parse(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text; // not JSON (e.g. "404 page not found"): compared as text
  }
}

/** One request with a raw body (it may be invalid JSON or even invalid UTF-8, on purpose). */
export function request(
  baseUrl: string,
  path: string,
  body: Buffer | string,
  method = 'POST',
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      `${baseUrl}${path}`,
      { method, timeout: REQUEST_TIMEOUT_MS },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: parse(Buffer.concat(chunks).toString('utf8')) }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path}: no answer in time`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * A streaming request (watch, keep-alive): collects newline-delimited JSON answers as they come.
 * waitFor() waits, bounded, until the lines satisfy a condition; close() drops the connection.
 */
export class StreamReader {
  readonly lines: Json[] = [];
  status = 0;
  ended = false;
  private pending = '';
  private readonly outgoing: http.ClientRequest;
  private readonly waiters = new Set<() => void>();

  constructor(baseUrl: string, path: string, body: Buffer | string) {
    this.outgoing = http.request(`${baseUrl}${path}`, { method: 'POST', agent: false }, (response) => {
      this.status = response.statusCode ?? 0;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => this.receive(chunk));
      response.on('end', () => {
        if (this.pending.trim() !== '') this.lines.push(parse(this.pending));
        this.pending = '';
        this.ended = true;
        this.wake();
      });
    });
    this.outgoing.on('error', () => {
      this.ended = true; // closed by us, or by the server: waitFor() sees the end either way
      this.wake();
    });
    this.outgoing.end(body);
  }

  private receive(chunk: string): void {
    this.pending += chunk;
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      this.lines.push(parse(this.pending.slice(0, newline)));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves true once `condition(lines)` holds, false when the stream ends or time runs out first. */
  waitFor(condition: (lines: Json[]) => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!condition(this.lines) && !this.ended) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(condition(this.lines));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(condition(this.lines));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.outgoing.destroy();
  }
}
