// Reads a vitest JSON report for .ci/run.
//   counts FILE            "<passed> <failed>" (failed counts a file that failed outside its tests as 1)
//   failures FILE LABEL    one line per failed test (or file): name, duration, first lines of the error
//   files FILE             the failed test files, space separated
'use strict';
const fs = require('fs');
const [what, file, label] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const head = (s) => String(s ?? '').split('\n').slice(0, 4).join(' | ');
const failedFiles = r.testResults.filter((f) => f.status === 'failed');
const outside = (f) => !f.assertionResults.some((a) => a.status === 'failed');
if (what === 'counts') {
  console.log(r.numPassedTests, r.numFailedTests + failedFiles.filter(outside).length);
} else if (what === 'failures') {
  for (const f of failedFiles) {
    if (outside(f)) console.log(`${label} FAILED FILE ${f.name}: ${head(f.message)}`);
    for (const a of f.assertionResults) {
      if (a.status === 'failed') console.log(`${label} FAILED ${f.name} > ${a.fullName} (${Math.round(a.duration ?? 0)} ms): ${head(a.failureMessages[0])}`);
    }
  }
} else if (what === 'files') {
  console.log(failedFiles.map((f) => f.name).join(' '));
} else {
  throw new Error(`unknown request ${what}`);
}
