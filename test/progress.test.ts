import { createProgress } from '../src/report/progress.js';
import { fixFiles } from '../src/index.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function fakeTerminal(isTTY = true) {
  const writes: string[] = [];
  return { stream: { isTTY, columns: 100, write: (text: string) => writes.push(text) }, writes };
}

describe('progress bar', () => {
  test('draws done/total, changes, errors and an ETA once the rate is known, throttled, as wide as the terminal, and erases itself', () => {
    const { stream, writes } = fakeTerminal();
    let clock = 0;
    const progress = createProgress(stream, true, { written: true, now: () => clock });
    progress.start(400);
    for (let i = 0; i < 100; i++) {
      clock += 10;
      progress.advance({ changed: i % 2 === 0, failed: i === 5 });
      // Before a second has passed there is no rate, so no time left.
      if (clock < 1000) expect(writes.at(-1)).not.toContain('ETA');
    }
    const bar = (filled: number, counts: string) => `\r[${'#'.repeat(filled)}${'.'.repeat(40 - filled)}]${counts}\u001b[K`;
    expect(writes[0]).toBe(bar(0, ' 0/400 files, 0 changed, 0 errors'));
    // 1 s for 100 files, so 3 s for the 300 left; redrawn every 100 ms, not per file.
    expect(writes.length).toBeLessThanOrEqual(12);
    expect(writes.at(-1)).toBe(bar(10, ' 100/400 files, 50 changed, 1 error, ETA 3s'));
    progress.finish();
    expect(writes.at(-1)).toBe('\r\u001b[K');
  });

  test('in a dry run files "would change"; a narrow terminal gets a shorter bar; output in between lifts the bar', () => {
    const { stream, writes } = fakeTerminal();
    const narrow = { ...stream, columns: 60 };
    const progress = createProgress(narrow, true, { now: () => 0 });
    progress.start(300);
    expect(writes[0]).toBe(`\r[${'.'.repeat(19)}] 0/300 files, 0 would change, 0 errors\u001b[K`);
    progress.interrupt(() => writes.push('a file\'s diff\n'));
    expect(writes.slice(1)).toEqual(['\r\u001b[K', 'a file\'s diff\n', writes[0]]);
  });

  test('nothing on a pipe, with --quiet, or for short runs', () => {
    const pipe = fakeTerminal(false);
    const onPipe = createProgress(pipe.stream, true);
    onPipe.start(1000);
    onPipe.advance({ changed: true, failed: false });
    onPipe.finish();
    expect(pipe.writes).toEqual([]);
    const quiet = fakeTerminal();
    createProgress(quiet.stream, false).start(1000);
    expect(quiet.writes).toEqual([]);
    const short = fakeTerminal();
    const few = createProgress(short.stream, true);
    few.start(3);
    few.advance({ changed: false, failed: false });
    few.finish();
    expect(short.writes).toEqual([]);
  });

  test('fixFiles tells onDiscovered how many results follow, before the first one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dockopt-progress-'));
    for (const name of ['a', 'b', 'c']) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'Dockerfile'), 'FROM alpine:3.20\nRUN echo 1\nRUN echo 2\n');
    }
    const events: string[] = [];
    for await (const result of fixFiles([dir, path.join(dir, 'missing')], { onDiscovered: (total) => events.push(`total ${total}`) })) events.push(result.status);
    expect(events[0]).toBe('total 4');
    expect(events).toHaveLength(5);
  });
});
