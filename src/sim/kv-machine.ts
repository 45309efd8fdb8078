// The replicated state machine the simulator drives: a string map with put and compare-and-set,
// plus the ids of applied commands so the end-of-run check can prove no acknowledged write was lost.

export type Command =
  | { readonly id: number; readonly op: 'put'; readonly key: string; readonly value: string }
  | {
      readonly id: number;
      readonly op: 'cas';
      readonly key: string;
      readonly expected: string | null;
      readonly value: string;
    };

export type CommandResult = { readonly id: number; readonly swapped: boolean };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(decoder.decode(data)) as Command;
}

export class KvMachine {
  private values = new Map<string, string>();
  private appliedIds = new Set<number>();

  /** Applies one committed command; returns whether a CAS swapped (puts always "swap"). */
  apply(command: Command): CommandResult {
    this.appliedIds.add(command.id);
    if (command.op === 'put') {
      this.values.set(command.key, command.value);
      return { id: command.id, swapped: true };
    }
    const current = this.values.get(command.key) ?? null;
    if (current !== command.expected) return { id: command.id, swapped: false };
    this.values.set(command.key, command.value);
    return { id: command.id, swapped: true };
  }

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  hasApplied(id: number): boolean {
    return this.appliedIds.has(id);
  }

  serialize(): Uint8Array {
    return encoder.encode(JSON.stringify({ values: [...this.values], ids: [...this.appliedIds] }));
  }

  static restore(data: Uint8Array): KvMachine {
    const machine = new KvMachine();
    if (data.byteLength === 0) return machine;
    const parsed = JSON.parse(decoder.decode(data)) as { values: [string, string][]; ids: number[] };
    machine.values = new Map(parsed.values);
    machine.appliedIds = new Set(parsed.ids);
    return machine;
  }
}
