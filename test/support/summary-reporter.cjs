// Prints one plain closing line, "N passed, N failed, N skipped", as the very last line of the run
// (after Jest's own summary, which is written later than onRunComplete). A test file that fails to
// run at all counts as a failure, so the line can never say "0 failed" for a broken run.
const { writeSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once('exit', () => writeSync(1, line));
  }
}
module.exports = SummaryReporter;
