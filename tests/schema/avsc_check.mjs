// Cross-checks tidemark's Avro encoder and decoder against the independent npm `avsc`
// library: every record that schema_avsc_fixture encodes must decode under avsc to the same
// value tidemark's decoder gives, re-encode under avsc to the same bytes, and the schema's
// Parsing Canonical Form must equal avsc's. Usage: node avsc_check.mjs <schema_avsc_fixture>
// Exits 77 (ctest's "skipped") when avsc is not installed in tests/node.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { Tally, plain, requireOrSkip } from './check_helpers.mjs';

const avro = requireOrSkip('avsc');

const fixture = process.argv[2];
if (!fixture) {
  console.error('usage: node avsc_check.mjs <path to schema_avsc_fixture>');
  process.exit(2);
}

// Floats: tidemark prints the shortest float text, avsc widens to double; compare as float32.
function same(a, b, where) {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b || Math.fround(a) === Math.fround(b)) return;
    assert.fail(`${where}: ${a} != ${b}`);
  }
  if (Array.isArray(a)) {
    assert.ok(Array.isArray(b), `${where}: array expected`);
    assert.equal(a.length, b.length, `${where}: length`);
    a.forEach((x, i) => same(x, b[i], `${where}[${i}]`));
    return;
  }
  if (a && typeof a === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
    for (const k of Object.keys(a)) same(a[k], b[k], `${where}.${k}`);
    return;
  }
  assert.equal(a, b, where);
}

const lines = execFileSync(fixture, { encoding: 'utf8' }).trim().split('\n');
const tally = new Tally();
for (const line of lines) {
  const c = JSON.parse(line);
  await tally.check(c.name, () => {
    const type = avro.Type.forSchema(JSON.parse(c.schema), { wrapUnions: false });
    const bytes = Buffer.from(c.hex, 'hex');
    const decoded = type.fromBuffer(bytes);  // throws on trailing bytes or bad data
    same(plain(decoded), JSON.parse(c.json), c.name);
    assert.ok(type.toBuffer(decoded).equals(bytes), `${c.name}: avsc re-encodes to different bytes`);
    assert.equal(JSON.stringify(type.schema()), c.canonical, `${c.name}: canonical form differs`);
  });
}
tally.finish();
