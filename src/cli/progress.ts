/*
 * A progress bar for the long commands (verify, bench, explain), drawn with
 * cli-progress on stderr when stderr is a terminal and absent otherwise (CI,
 * pipes, files), so logs and the stdout contract lines stay as they were.
 * Stdout lines printed while the bar is up go through `line`, which lifts the
 * bar off the terminal line first and draws it again below.
 */
import cliProgress from 'cli-progress';
import { clearLine, cursorTo } from 'node:readline';

export interface Progress {
  /** The next item starts: the bar shows `label` and counts the previous item done. */
  next(label: string): void;
  /** A stdout line, printed above the bar. */
  line(text: string): void;
  /** Removes the bar (call before printing results; safe to call twice). */
  stop(): void;
}

/**
 * A bar over `total` items on a terminal; elsewhere `plain` (if given) is called with
 * each label and its position instead, e.g. to keep a command's old stderr lines.
 */
export function progress(total: number, plain?: (label: string, index: number) => void): Progress {
  let index = -1;
  if (!process.stderr.isTTY) {
    return {
      next: (label) => plain?.(label, ++index),
      line: (text) => console.log(text),
      stop: () => {},
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      format: '{bar} {value}/{total} {label}',
      barsize: 24,
      // Keeps the terminal's line wrapping and cursor untouched: an interrupted run leaves them as they were.
      linewrap: true,
      hideCursor: false,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0, { label: '' });
  const lift = () => {
    cursorTo(process.stderr, 0);
    clearLine(process.stderr, 0);
  };
  let stopped = false;
  return {
    next(label) {
      bar.update(Math.max(0, ++index), { label });
      bars.update();
    },
    line(text) {
      // Only a shared terminal needs the bar lifted; stdout into a pipe or file never meets it.
      if (process.stdout.isTTY) lift();
      console.log(text);
      bars.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
      lift();
    },
  };
}
