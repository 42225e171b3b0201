// The default pipeline as users run it: transforms that touch the same RUN
// must compose without doing the same work twice.
import { fixText } from '../src/index.js';

test('merge-runs and pkg-cleanup on split apt steps: one update, one cleanup', async () => {
  const result = await fixText('FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y curl\n');
  expect(result.output).toBe('FROM debian:bookworm-slim\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n');
  expect((await fixText(result.output)).changed).toBe(false);
});

test('an install without update in a later RUN gets its own update only when it stays separate', async () => {
  const result = await fixText('FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\nWORKDIR /app\nRUN apt-get install -y jq\n');
  expect(result.output.match(/apt-get update/g)).toHaveLength(2);
  expect(result.output.match(/rm -rf \/var\/lib\/apt\/lists\/\*/g)).toHaveLength(2);
});
