// Prints "N passed, N failed" from vitest's JSON report; a run that never reached vitest
// (typecheck or lint failed) counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const path = process.argv[2];
if (!path || !existsSync(path)) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const report = JSON.parse(readFileSync(path, 'utf8'));
const failedSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests + failedSuites} failed${report.numPendingTests ? `, ${report.numPendingTests} skipped` : ''}`);
