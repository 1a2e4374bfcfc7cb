// Shared by the node checks in tests/schema: the npm packages of tests/node (or ctest's
// "skipped" when they are not installed), avsc values as the plain JSON tidemark's decoder
// writes, and a tally of named checks that sets the exit code.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const requireFromTestsNode = createRequire(path.join(here, '..', 'node', 'package.json'));

// The package installed in tests/node; exits 77 (ctest's "skipped") when it is not.
export function requireOrSkip(name) {
  try {
    return requireFromTestsNode(name);
  } catch {
    console.log(`SKIP: ${name} is not installed; run \`npm install\` in tests/node to enable this check`);
    process.exit(77);
  }
}

// avsc value → plain JSON: bytes and fixed as latin-1 strings, records as plain objects
// (unions are unwrapped by avsc's default wrapUnions=false).
export function plain(v) {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = plain(v[k]);
    return out;
  }
  return v;
}

export class Tally {
  passed = 0;
  failed = 0;

  // Runs one named check, printing "ok NAME" or "FAIL NAME: why".
  async check(name, fn) {
    try {
      await fn();
      console.log(`ok ${name}`);
      this.passed++;
    } catch (e) {
      console.log(`FAIL ${name}: ${e.stack || e.message}`);
      this.failed++;
    }
  }

  // Prints the totals and exits: 0 when something passed and nothing failed.
  finish() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed === 0 && this.passed > 0 ? 0 : 1);
  }
}
