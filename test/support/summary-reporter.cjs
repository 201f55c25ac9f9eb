// Prints one plain closing line, "N passed, N failed, N skipped", as the very last line of the run
// (after Jest's own summary, which is written later than onRunComplete).
const { writeSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped\n`;
    process.once('exit', () => writeSync(1, line));
  }
}
module.exports = SummaryReporter;
