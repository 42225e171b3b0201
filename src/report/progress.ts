// A one-line progress bar for long runs on a terminal: files done/total,
// changes, errors and the time left. Redrawn at most ten times a second, as
// wide as the terminal, lifted while other output is printed, and erased at
// the end so that the summary line takes its place.

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Progress {
  start(total: number): void;
  advance(outcome: { changed: boolean; failed: boolean }): void;
  /** Prints other output (a file's diff and messages): the bar is erased first and drawn again after. */
  interrupt(print: () => void): void;
  finish(): void;
}

export interface ProgressOptions {
  /** True with --write: files "changed"; otherwise they "would change". */
  readonly written?: boolean;
  readonly now?: () => number;
}

/** Runs shorter than this never show a bar: it would only flicker. */
const MIN_FILES = 200;
const REDRAW_MS = 100;
/** No time left is shown before the rate is known: this long into the run, and this many files done. */
const ETA_AFTER_MS = 1000;
const ETA_AFTER_FILES = 10;

const NO_PROGRESS: Progress = { start: () => undefined, advance: () => undefined, interrupt: (print) => print(), finish: () => undefined };

export function createProgress(stream: ProgressStream, enabled: boolean, options: ProgressOptions = {}): Progress {
  if (!enabled || stream.isTTY !== true) return NO_PROGRESS;
  const now = options.now ?? Date.now;
  const verb = options.written ? 'changed' : 'would change';
  let total = 0;
  let done = 0;
  let changed = 0;
  let failed = 0;
  let startedAt = 0;
  let drawnAt = -Infinity;
  let drawn = false;
  const draw = () => {
    const elapsed = now() - startedAt;
    const rateKnown = elapsed >= ETA_AFTER_MS && done >= ETA_AFTER_FILES;
    const eta = rateKnown && done < total ? formatSeconds(((total - done) * elapsed) / done / 1000) : '';
    const counts = ` ${done}/${total} files, ${changed} ${verb}, ${failed} error${failed === 1 ? '' : 's'}${eta ? `, ETA ${eta}` : ''}`;
    const columns = stream.columns ?? 80;
    // The bar takes what the counts leave of the line, between 10 and 40 characters.
    const width = Math.max(10, Math.min(40, columns - 1 - counts.length - 2));
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${counts}`;
    stream.write(`\r${line.slice(0, columns - 1)}\u001b[K`);
    drawn = true;
    drawnAt = now();
  };
  return {
    start(count) {
      total = count;
      startedAt = now();
      if (total >= MIN_FILES) draw();
    },
    advance(outcome) {
      done++;
      if (outcome.changed) changed++;
      if (outcome.failed) failed++;
      if (total >= MIN_FILES && now() - drawnAt >= REDRAW_MS) draw();
    },
    interrupt(print) {
      if (!drawn) return print();
      stream.write('\r\u001b[K');
      print();
      draw();
    },
    finish() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}
