// Drives tidemark's registry REST handlers with a real Confluent client
// (@kafkajs/confluent-schema-registry) over loopback, and crosses the Confluent wire format
// both ways: values the client encodes are decoded by tidemark's ConsumerDecoder (written
// with v1, read as the latest version with defaults), and values tidemark encodes are
// decoded by the client. Usage: node registry_client_check.mjs <schema_registry_http_fixture>
// Exits 77 (ctest's "skipped") when the client is not installed in tests/node.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { Tally, requireOrSkip } from './check_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { SchemaRegistry } = requireOrSkip('@kafkajs/confluent-schema-registry');
const fixture = process.argv[2];
if (!fixture) {
  console.error('usage: node registry_client_check.mjs <path to schema_registry_http_fixture>');
  process.exit(2);
}
const schemaFile = (name) => readFileSync(path.join(here, '..', '..', 'schemas', name), 'utf8');

const server = spawn(fixture, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let seen = '';
  server.stdout.on('data', (chunk) => {
    seen += chunk;
    const m = seen.match(/listening (\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  setTimeout(() => reject(new Error('fixture did not start within 10 s')), 10000);
});
const base = `http://127.0.0.1:${port}`;
const registry = new SchemaRegistry({ host: base });
const subject = 'page_view-value';

async function post(pathname, body) {
  const r = await fetch(base + pathname, { method: 'POST', body });
  return { status: r.status, text: await r.text() };
}

const tally = new Tally();

const v1Event = { event_id: 'e1', user_id: 'u1', event_type: 'page_view', timestamp: 1775800800000 };
let v1Id;
let clientEncodedV1;

await tally.check('register v1, v2, v3 and read ids back', async () => {
  ({ id: v1Id } = await registry.register({ type: 'AVRO', schema: schemaFile('page_view/v1.avsc') }, { subject }));
  clientEncodedV1 = await registry.encode(v1Id, v1Event);
  const { id: v2Id } = await registry.register({ type: 'AVRO', schema: schemaFile('page_view/v2.avsc') }, { subject });
  const { id: v3Id } = await registry.register({ type: 'AVRO', schema: schemaFile('page_view/v3.avsc') }, { subject });
  assert.deepEqual([v1Id, v2Id, v3Id], [1, 2, 3]);
  assert.equal(await registry.getLatestSchemaId(subject), 3);
  assert.equal(await registry.getRegistryIdBySchema(subject, { type: 'AVRO', schema: schemaFile('page_view/v2.avsc') }), 2);
  const again = await registry.register({ type: 'AVRO', schema: schemaFile('page_view/v1.avsc') }, { subject });
  assert.equal(again.id, 1, 'an identical schema keeps its id');
});

await tally.check('a breaking schema is refused with 409', async () => {
  await assert.rejects(
    registry.register({ type: 'AVRO', schema: schemaFile('page_view/v4_breaking.avsc') }, { subject }),
    (e) => e.status === 409 && /context\.geo_lat/.test(e.message),
  );
});

await tally.check('client-encoded v1 value decodes in tidemark as the latest schema', async () => {
  assert.equal(clientEncodedV1[0], 0);
  assert.equal(clientEncodedV1.readInt32BE(1), v1Id);
  const r = await post('/_test/decode', clientEncodedV1.toString('hex'));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), {
    ...v1Event,
    context: { device_type: 'unknown', app_version: null, geo_lat: null, geo_lng: null },
  });
});

await tally.check('tidemark-encoded value decodes in the client', async () => {
  const event = { event_id: 'e2', event_type: 'page_view', timestamp: 5, user_id: 'u2',
                  context: { device_type: 'tablet', app_version: '1.2', geo_lat: 52.5, geo_lng: 13.4 } };
  const r = await post(`/_test/encode/${subject}`, JSON.stringify(event));
  assert.equal(r.status, 200, r.text);
  const decoded = await registry.decode(Buffer.from(r.text, 'hex'));
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), event);
});

await tally.check('Confluent error codes reach the client', async () => {
  await assert.rejects(registry.getSchema(999), (e) => e.status === 404 && /Schema 999 not found/.test(e.message));
  await assert.rejects(registry.getLatestSchemaId('missing-value'), (e) => e.status === 404);
});

server.stdin.end();
tally.finish();
