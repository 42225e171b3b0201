// Preloaded by bench/run.mjs with --import: reports the process's peak RSS on exit.
process.on('exit', () => {
  process.stderr.write(`dockopt-bench-max-rss-kb=${process.resourceUsage().maxRSS}\n`);
});
