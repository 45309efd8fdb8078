// The randomness seam. The core draws election timeouts from an injected generator so a
// simulator run is a pure function of its seed; production passes a generator seeded from
// the OS. Never Math.random inside src/raft.

export interface Rng {
  /** A uniformly distributed integer in [0, bound). */
  nextInt(bound: number): number;
}

/**
 * sfc32 ("small fast counting"), a 128-bit-state generator that passes PractRand; enough for
 * timeouts and fault schedules, not for cryptography.
 */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Warm up so that nearby seeds diverge quickly.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextInt(bound: number): number {
    return Math.floor((this.nextUint32() / 0x100000000) * bound);
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }
}
