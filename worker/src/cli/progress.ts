// A progress bar on stderr: percent, steps, tokens/s. Redrawn in place on a terminal; on a pipe
// or file one line per update, so logs stay readable.

export class ProgressBar {
  private readonly tty: boolean;

  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr, private readonly width = 24) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, total: number, tokensPerSecond: number): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const fill = Math.round(frac * this.width);
    const line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(this.width - fill)}] ${Math.floor(frac * 100)}% step ${done}/${total} ${Math.round(tokensPerSecond)} tok/s`;
    this.stream.write(this.tty ? `\r${line}${done >= total ? '\n' : ''}` : `${line}\n`);
  }

  /** A bar over `unit`s (bytes, files) instead of steps: `label [###---] 42% 1.2/3.0 MB` or `3/13 files`. */
  updateCount(done: number, total: number, unit: string): void {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const fill = Math.round(frac * this.width);
    const amount = unit === 'bytes' ? `${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB` : `${done}/${total} ${unit}`;
    const line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(this.width - fill)}] ${Math.floor(frac * 100)}% ${amount}`;
    this.stream.write(this.tty ? `\r${line}${done >= total ? '\n' : ''}` : `${line}\n`);
  }
}
