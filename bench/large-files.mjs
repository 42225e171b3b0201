// Generated large Dockerfiles that once took super-linear time (issue 16):
// one RUN with a long `&&` chain (multi-stage with --unsafe was cubic in it),
// and many RUN lines of installs and commands (merge-runs and pkg-cleanup
// rewriting each other's result across passes). bench/run.mjs times them;
// bench/compare-outputs.mjs checks that speed work leaves their output alone.

/** FROM, then one RUN of `count` commands joined by `&&` on continuation lines. */
export function longChain(count) {
  const commands = Array.from({ length: count }, (_, index) => (index % 7 === 3 ? `cd /opt/step${index}` : index % 5 === 0 ? `apt-get install -y pkg${index}` : `echo step ${index}`));
  return `FROM debian:bookworm\nRUN apt-get update && \\\n    ${commands.join(' && \\\n    ')}\nCMD ["/bin/true"]\n`;
}

/** FROM, then `count` RUN lines: installs with and without update, plain commands, and a few other instructions between. */
export function manyRuns(count) {
  const lines = ['FROM debian:bookworm'];
  for (let index = 0; index < count; index++) {
    if (index % 50 === 49) lines.push(`ENV STEP=${index}`);
    if (index % 4 === 0) lines.push(`RUN apt-get install -y pkg${index}`);
    else if (index % 4 === 1) lines.push(`RUN apt-get update && apt-get install -y lib${index}`);
    else if (index % 4 === 2) lines.push(`RUN echo step ${index}`);
    else lines.push(`RUN pip install tool${index}`);
  }
  lines.push('CMD ["python3", "app.py"]');
  return `${lines.join('\n')}\n`;
}
