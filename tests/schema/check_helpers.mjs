// Shared by the node checks in tests/schema: avsc values as the plain JSON tidemark's
// decoder writes, and a tally of named checks that sets the exit code.

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
