// Sends GrpcInputs to one or more client ports, a batch at a time, and after every batch asks
// each target whether its process is still alive. What it counts: inputs tried, and crashes
// (a target process that exited), with the labels of the batch that preceded each crash.

import type http2 from 'node:http2';
import net from 'node:net';
import { request } from '../gateway/http-client.js';
import { connect, unaryRaw } from '../support/raw-grpc.js';
import type { GrpcInput, GrpcInputs } from './grpc-inputs.js';

/** A process under fuzzing: where it listens, and whether it has died. */
export interface FuzzTarget {
  readonly address: string;
  crashed(): boolean;
}

export interface FuzzReport {
  tried: number;
  crashes: number;
  /**
   * Labels of the last two batches when a crash was seen: a process's exit is noticed a moment
   * after the connection drops, so the culprit may be in the batch before.
   */
  crashInputs: string[];
  /** Inputs that got no answer within INPUT_TIMEOUT_MS (allowed: some inputs wait for more bytes). */
  unanswered: number;
  /** The first few unanswered inputs, to tell a slow path from an expected wait. */
  unansweredInputs: string[];
}

/** Inputs in flight per batch. */
const BATCH_SIZE = 16;
/** Bound on one input's answer; the fuzzer moves on after it. */
const INPUT_TIMEOUT_MS = 3_000;
const UNANSWERED_LABELS_MAX = 20;
const RAW_IDLE_MS = 250;

export interface FuzzOptions {
  readonly count: number;
  /** Runs between batches, e.g. "a normal client is still served"; every `checkEvery` inputs. */
  readonly check?: () => Promise<void>;
  readonly checkEvery?: number;
}

export async function fuzzClientPorts(
  targets: readonly FuzzTarget[],
  inputs: GrpcInputs,
  options: FuzzOptions,
): Promise<FuzzReport> {
  const report: FuzzReport = { tried: 0, crashes: 0, crashInputs: [], unanswered: 0, unansweredInputs: [] };
  const sessions = new Map<string, http2.ClientHttp2Session>();
  const sessionFor = (address: string) => {
    const existing = sessions.get(address);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = connect(address);
    sessions.set(address, session);
    return session;
  };
  let sinceCheck = 0;
  let previousLabels: string[] = [];
  try {
    while (report.tried < options.count) {
      const batch: { target: FuzzTarget; input: GrpcInput }[] = [];
      for (let i = 0; i < BATCH_SIZE && report.tried + batch.length < options.count; i++) {
        batch.push({ target: targets[i % targets.length], input: inputs.next() });
      }
      const answered = await Promise.all(
        batch.map(({ target, input }) => send(target.address, input, sessionFor)),
      );
      report.tried += batch.length;
      answered.forEach((ok, i) => {
        if (ok) return;
        report.unanswered++;
        if (report.unansweredInputs.length < UNANSWERED_LABELS_MAX)
          report.unansweredInputs.push(batch[i].input.label);
      });
      const crashed = targets.filter((t) => t.crashed());
      if (crashed.length > 0) {
        report.crashes += crashed.length;
        report.crashInputs.push(...previousLabels, ...batch.map(({ input }) => input.label));
        return report;
      }
      previousLabels = batch.map(({ input }) => input.label);
      sinceCheck += batch.length;
      if (options.check !== undefined && sinceCheck >= (options.checkEvery ?? 200)) {
        sinceCheck = 0;
        await options.check();
      }
    }
    return report;
  } finally {
    for (const session of sessions.values()) session.destroy();
  }
}

/** Sends one input; true if the server answered (any answer) within the bound. */
async function send(
  address: string,
  input: GrpcInput,
  sessionFor: (address: string) => http2.ClientHttp2Session,
): Promise<boolean> {
  try {
    switch (input.kind) {
      case 'grpc':
        await unaryRaw(sessionFor(address), input.path, input.body, input.headers, INPUT_TIMEOUT_MS);
        return true;
      case 'gateway':
        await request(`http://${address}`, input.path, input.body);
        return true;
      case 'http2-bytes':
        return await sendBytes(address, input.bytes);
    }
  } catch {
    // Refused, reset or timed out: all allowed answers to hostile input. Liveness is checked apart.
    return false;
  }
}

/**
 * Writes raw bytes on a fresh TCP connection and half-closes. An HTTP/2 server may keep the
 * connection open after that, so the input is over when the server closes it or has been quiet
 * for RAW_IDLE_MS after answering (it has read and handled what it was going to handle).
 */
export function sendBytes(address: string, bytes: Buffer): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    let idle: NodeJS.Timeout | undefined;
    const finish = (answered: boolean) => {
      clearTimeout(deadline);
      clearTimeout(idle);
      socket.destroy();
      resolve(answered);
    };
    const deadline = setTimeout(() => finish(false), INPUT_TIMEOUT_MS);
    socket.on('error', () => undefined); // a reset is an answer too; 'close' follows
    socket.on('data', () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(true), RAW_IDLE_MS);
    });
    socket.on('close', () => finish(true));
    socket.end(bytes);
  });
}
