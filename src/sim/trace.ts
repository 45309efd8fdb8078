// A running hash of everything that happens in a run, printed at the end so two replays of one
// seed can be compared at a glance (cyrb53: fast, 53 bits, good enough to tell traces apart).

export class TraceHash {
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;
  events = 0;

  add(line: string): void {
    this.events++;
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < line.length; i++) {
      const ch = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    this.h1 = h1;
    this.h2 = h2;
  }

  hex(): string {
    return (4294967296 * (2097151 & this.h2) + (this.h1 >>> 0)).toString(16).padStart(14, '0');
  }
}
