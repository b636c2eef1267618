// Mocha's spec reporter plus one closing line CI can read: `N passed, N failed, N skipped`.
// When run-tests.mjs runs the suite in more than one mocha run, it gives MW_TEST_COUNTS_FILE: the counts go
// there instead, and run-tests.mjs prints the one closing line with their sum.
const fs = require('node:fs');
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class ClosingLineReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats ?? this.stats;
      const countsFile = process.env.MW_TEST_COUNTS_FILE;
      if (countsFile) fs.writeFileSync(countsFile, JSON.stringify({ passes, failures, pending }));
      else process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = ClosingLineReporter;
