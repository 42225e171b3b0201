// A one-line progress bar for long runs on a terminal: files done/total,
// changes, errors and the time left. Redrawn at most ten times a second, and
// erased at the end so that the summary line takes its place.

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Progress {
  start(total: number): void;
  advance(outcome: { changed: boolean; failed: boolean }): void;
  finish(): void;
}

/** Runs shorter than this never show a bar: it would only flicker. */
const MIN_FILES = 200;
const REDRAW_MS = 100;

const NO_PROGRESS: Progress = { start: () => undefined, advance: () => undefined, finish: () => undefined };

export function createProgress(stream: ProgressStream, enabled: boolean, now: () => number = Date.now): Progress {
  if (!enabled || stream.isTTY !== true) return NO_PROGRESS;
  let total = 0;
  let done = 0;
  let changed = 0;
  let failed = 0;
  let startedAt = 0;
  let drawnAt = -Infinity;
  let drawn = false;
  const draw = () => {
    const elapsed = now() - startedAt;
    const eta = done > 0 && done < total ? formatSeconds(((total - done) * elapsed) / done / 1000) : '';
    const width = 24;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} files, ${changed} changed, ${failed} error${failed === 1 ? '' : 's'}${eta ? `, ETA ${eta}` : ''}`;
    const columns = stream.columns ?? 80;
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
    finish() {
      if (drawn) stream.write('\r\u001b[K');
    },
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}
