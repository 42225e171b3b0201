// Prints one plain closing line, "N passed, N failed, N skipped", that CI
// systems reading test output can recognise whatever the runner.
class PlainSummaryReporter {
  onRunComplete(_contexts, results) {
    process.stdout.write(`\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped\n`);
  }
}
module.exports = PlainSummaryReporter;
