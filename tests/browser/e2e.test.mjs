// `node --test tests/browser/` only runs files named like tests (*.test.mjs,
// test-*.mjs, ...); this one pulls in the real suite in run.mjs.
import './run.mjs';
