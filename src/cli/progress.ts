import cliProgress from 'cli-progress';
import { escapeTerminal } from './escape-terminal.ts';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A progress bar on stderr in a terminal; a line at each quarter elsewhere (CI, logs). */
export function progressBar(rawLabel: string, unit: 'bytes' | 'items' = 'bytes'): Progress {
  const label = escapeTerminal(rawLabel);
  const format = (n: number) => (unit === 'bytes' ? `${(n / 1024 / 1024).toFixed(1)} MB` : n.toLocaleString('en'));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {done}/{all}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total) => {
        if (!started) {
          bar.start(total, 0, { done: format(0), all: format(total) });
          started = true;
        }
        bar.update(done, { done: format(done), all: format(total) });
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update: (done, total) => {
      const quarter = total > 0 ? Math.floor((done / total) * 4) : 4;
      if (quarter > lastDecile) {
        lastDecile = quarter;
        process.stderr.write(`${label}: ${quarter * 25}% (${format(done)} of ${format(total)})\n`);
      }
    },
    stop: () => undefined,
  };
}
