// Drives the schema registry listener of a RUNNING `tidemark serve` with a real Confluent
// client (@kafkajs/confluent-schema-registry), which sends keys as HTTP Basic user names:
// page_view v1..v3 register and read back by id and by version, the breaking v4 gets 409
// naming the field, a write-only or read-only key cannot register (403), no key gets 401.
// Usage: node registry_server_check.mjs <registry URL> <admin key> <write-only key> <read key>
// (started by tests/e2e/schema_registry_test.cc on a fresh server, whose only schema is the
// generic one, id 1, so page_view's ids start at 2).
// Exits 77 (ctest's "skipped") when the client is not installed in tests/node.
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { Tally, requireOrSkip } from './check_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { SchemaRegistry } = requireOrSkip('@kafkajs/confluent-schema-registry');
const [host, adminKey, writeKey, readKey] = process.argv.slice(2);
if (!host || !adminKey || !writeKey || !readKey) {
  console.error('usage: node registry_server_check.mjs <registry URL> <admin key> <write-only key> <read key>');
  process.exit(2);
}
const schemaText = (name) => readFileSync(path.join(here, '..', '..', 'schemas', name), 'utf8');
const avro = (name) => ({ type: 'AVRO', schema: schemaText(name) });
// The key is the Basic user name; the password is not looked at.
const clientWith = (key) => new SchemaRegistry(key ? { host, auth: { username: key, password: 'unused' } } : { host });
const admin = clientWith(adminKey);
const subject = 'page_view-value';

const tally = new Tally();

const ids = [];
await tally.check('an admin key registers page_view v1, v2, v3', async () => {
  for (const v of ['v1', 'v2', 'v3']) {
    const { id } = await admin.register(avro(`page_view/${v}.avsc`), { subject });
    ids.push(id);
  }
  assert.deepEqual(ids, [2, 3, 4]);
  const again = await admin.register(avro('page_view/v2.avsc'), { subject });
  assert.equal(again.id, 3, 'an identical schema keeps its id');
});

await tally.check('schemas read back by id and by version', async () => {
  const reader = clientWith(readKey);
  for (const [i, v] of ['v1', 'v2', 'v3'].entries()) {
    const byId = await reader.api.Schema.find({ id: ids[i] });
    assert.deepEqual(JSON.parse(byId.data().schema), JSON.parse(schemaText(`page_view/${v}.avsc`)));
    const byVersion = await reader.api.Subject.version({ subject, version: i + 1 });
    assert.equal(byVersion.data().id, ids[i]);
    assert.equal(byVersion.data().version, i + 1);
    assert.equal(await reader.getRegistryId(subject, i + 1), ids[i]);
  }
  assert.equal(await reader.getLatestSchemaId(subject), ids[2]);
  const type = await reader.getSchema(ids[2]);
  assert.equal(type.name, 'tidemark.events.PageView');
  // The client encodes with the server's schema and decodes by fetching it by id.
  const event = { event_id: 'e1', user_id: 'u1', event_type: 'page_view', timestamp: 1775800800000,
                  context: { device_type: 'mobile', app_version: null, geo_lat: 52.5, geo_lng: null } };
  const decoded = await reader.decode(await reader.encode(ids[2], event));
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), event);
});

await tally.check('a breaking schema is refused with 409 naming the field', async () => {
  await assert.rejects(admin.register(avro('page_view/v4_breaking.avsc'), { subject }),
                       (e) => e.status === 409 && /context\.geo_lat/.test(e.message));
  assert.equal(await admin.getLatestSchemaId(subject), ids[2], 'nothing was registered');
});

await tally.check('a write-only key gets 403, for reads and for changes', async () => {
  const writer = clientWith(writeKey);
  await assert.rejects(writer.getLatestSchemaId(subject), (e) => e.status === 403 && /'read' scope/.test(e.message));
  await assert.rejects(writer.register(avro('page_view/v3.avsc'), { subject }), (e) => e.status === 403);
});

await tally.check('a read key reads but cannot register (403)', async () => {
  const reader = clientWith(readKey);
  await assert.rejects(
    reader.api.Subject.register({ subject: 'click-value', body: { schema: schemaText('loadgen/click.avsc') } }),
    (e) => e.status === 403 && /'admin' scope/.test(e.message));
});

await tally.check('no key, or an unknown one, gets 401', async () => {
  await assert.rejects(clientWith('').getLatestSchemaId(subject), (e) => e.status === 401);
  await assert.rejects(clientWith('').register(avro('page_view/v1.avsc'), { subject: 'other-value' }),
                       (e) => e.status === 401);
  await assert.rejects(clientWith('tmk_not_a_key').getSchema(1), (e) => e.status === 401);
  const r = await fetch(`${host}/subjects`);
  assert.equal(r.status, 401);
});

tally.finish();
