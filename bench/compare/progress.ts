// Progress on stderr: one line per finished row, and on a terminal a live status line (rewritten
// in place with \r) saying what runs now. stdout is kept for the final table.

const CLEAR_LINE = '\r\x1b[K';

export class Progress {
  private readonly live = process.stderr.isTTY === true;
  private readonly startedMs = Date.now();
  private current = '';
  private readonly timer: NodeJS.Timeout | null;

  constructor() {
    // Refresh the elapsed time on the status line; unref'd so it never keeps the process alive.
    this.timer = this.live ? setInterval(() => this.redraw(), 500) : null;
    this.timer?.unref();
  }

  /** What runs now (only shown on a terminal). */
  status(text: string): void {
    this.current = text;
    this.redraw();
  }

  /** A permanent line, e.g. a finished row. */
  line(text: string): void {
    if (this.live) process.stderr.write(CLEAR_LINE);
    process.stderr.write(`${text}\n`);
    this.redraw();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.live) process.stderr.write(CLEAR_LINE);
  }

  elapsedSeconds(): number {
    return (Date.now() - this.startedMs) / 1000;
  }

  private redraw(): void {
    if (!this.live || this.current === '') return;
    process.stderr.write(`${CLEAR_LINE}[${this.elapsedSeconds().toFixed(0)} s] ${this.current}`);
  }
}
