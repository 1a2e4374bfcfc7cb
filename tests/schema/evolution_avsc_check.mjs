// Independent check of the records an evolution test wrote: every value of a `tidemark log
// dump --raw-values` file is decoded by the npm `avsc` library — writer schema fetched by id
// from the running registry's REST API, resolved to the subject's latest version as reader —
// and must equal what tidemark's own decoder printed for it.
// Usage: node evolution_avsc_check.mjs <registry url> <key> <subject> <dump.jsonl>
// Exits 77 (ctest's "skipped") when avsc is not installed in tests/node.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Tally, plain, requireOrSkip } from './check_helpers.mjs';

const avro = requireOrSkip('avsc');

const [url, key, subject, dumpPath] = process.argv.slice(2);
if (!dumpPath) {
  console.error('usage: node evolution_avsc_check.mjs <registry url> <key> <subject> <dump.jsonl>');
  process.exit(2);
}

async function get(pathname) {
  const r = await fetch(url + pathname, { headers: { Authorization: `Bearer ${key}` } });
  const body = await r.json();
  if (!r.ok) throw new Error(`GET ${pathname}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const latest = await get(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
const reader = avro.Type.forSchema(JSON.parse(latest.schema));
const writers = new Map();
const tally = new Tally();
for (const line of readFileSync(dumpPath, 'utf8').split('\n')) {
  if (!line) continue;
  const rec = JSON.parse(line);
  const bytes = Buffer.from(rec.value_hex, 'hex');
  try {
    assert.equal(bytes[0], 0, 'magic byte');
    const id = bytes.readInt32BE(1);
    if (!writers.has(id)) {
      const writer = avro.Type.forSchema(JSON.parse((await get(`/schemas/ids/${id}`)).schema));
      writers.set(id, reader.createResolver(writer));
    }
    const decoded = reader.fromBuffer(bytes.subarray(5), writers.get(id));
    assert.deepEqual(plain(decoded), rec.value);
    tally.passed++;
  } catch (e) {
    tally.failed++;
    if (tally.failed <= 10) console.log(`record ${rec.partition}/${rec.offset}: ${e.message}`);
  }
}
console.log(`avsc decoded ${writers.size} writer schemas as version ${latest.version}`);
tally.finish();
