// Independent check of the bronze layer: DuckDB reads every data file the current snapshots
// name and compares them with the log records they came from (a JSON-lines dump written by
// tests/e2e/lake_test.cc): exactly one row per (log_partition, log_offset), sampled rows
// field by field, per-file row counts and column statistics, NULLs in columns added by
// schema evolution, and a query filtering on event date.
// Usage: node check_bronze.mjs spec.json. Exit 0 = all agree; every difference is printed.
import { createRequire } from 'node:module';
import { createReadStream, readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run("SET TimeZone = 'UTC'");
const failures = [];
let checks = 0;

const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;
async function rows(sql) {
  return (await conn.runAndReadAll(sql)).getRowsJson();
}
function check(ok, what) {
  checks += 1;
  if (!ok && failures.length < 200) failures.push(what);
  return ok;
}
function deepEqual(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  }
  return v;
}

// The log, per topic: Map "partition/offset" -> value.
const log = new Map();
// Read line by line: the dump can be larger than one string may be.
for await (const line of createInterface({ input: createReadStream(spec.log), crlfDelay: Infinity })) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (!log.has(r.topic)) log.set(r.topic, new Map());
  // An Avro record holds the event as its schema describes it; the gateway's additions sit
  // beside it (received_at is the record timestamp, the rest are headers).
  let v = r.value;
  if (r.topic !== 'dlq-events' && r.headers && v && typeof v === 'object') {
    v = { ...v, received_at: r.timestamp, source: r.headers.source ?? v.source };
    if (r.headers.event_time !== undefined) v.event_time = Number(r.headers.event_time);
    if (r.headers.event_id !== undefined) v.event_id = r.headers.event_id;
    if (r.headers.platform !== undefined && v.platform == null) v.platform = r.headers.platform;
  }
  log.get(r.topic).set(`${r.partition}/${r.offset}`, v);
}

const utcDate = (ms) => new Date(Number(ms)).toISOString().slice(0, 10);

// What a bronze row must hold for a log record, column by column (as DuckDB prints them).
function expectedEvent(v, columns) {
  const want = {
    event_id: v.event_id, event_type: v.event_type,
    event_time: String(v.event_time ?? v.timestamp), client_timestamp: String(v.timestamp),
    received_at: String(v.received_at), user_id: v.user_id ?? null,
    anonymous_id: v.anonymous_id ?? null, session_id: v.session_id ?? null,
    platform: v.platform ?? null, source: v.source ?? null,
    schema_version: v.schema_version == null ? null : String(v.schema_version),
  };
  for (const c of columns) {
    if (!c.name.startsWith('context_')) continue;
    const field = c.name.slice('context_'.length);
    if (field.endsWith('__text')) continue;
    const value = v.context?.[field];
    if (value === undefined || value === null) {
      want[c.name] = null;
    } else if (c.type === 'DOUBLE' && typeof value === 'number') {
      want[c.name] = value;
    } else if (c.type === 'BOOLEAN' && typeof value === 'boolean') {
      want[c.name] = value;
    } else if (c.type === 'VARCHAR' && typeof value === 'string') {
      want[c.name] = value;
    } else if (c.type === 'VARCHAR') {
      want[c.name] = { json: value };
    } else {
      want[c.name] = null;
      want[`${c.name}__text`] = { json: value };
    }
  }
  return want;
}

function expectedDlq(v) {
  const raw = v.raw === undefined || v.raw === null ? null : typeof v.raw === 'string' ? v.raw : { json: v.raw };
  return {
    reason: v.reason ?? null, message: v.message ?? null,
    batch_index: v.index === undefined || v.index < 0 ? null : String(v.index),
    source: v.source ?? null, received_at: String(v.received_at), raw,
  };
}

function sameCell(want, got) {
  if (want && typeof want === 'object' && 'json' in want) {
    try {
      return got !== null && deepEqual(JSON.parse(got), want.json);
    } catch {
      return false;
    }
  }
  if (want === null || got === null) return want === got;
  if (typeof want === 'number') return Number(got) === want;
  return String(want) === String(got);
}

for (const t of spec.tables) {
  const dir = join(spec.lake, t.name);
  const records = log.get(t.topic) ?? new Map();
  if (!existsSync(join(dir, 'metadata', 'current'))) {
    check(records.size === 0, `${t.name}: no table but the log has ${records.size} records`);
    continue;
  }
  const version = Number(readFileSync(join(dir, 'metadata', 'current'), 'utf8').trim());
  const snapshot = JSON.parse(readFileSync(join(dir, 'metadata', `v${String(version).padStart(8, '0')}.json`), 'utf8'));
  const files = snapshot.files.map((f) => ({ ...f, abs: join(dir, f.path) }));
  console.log(`${t.name}: version ${version}, ${files.length} files, ${records.size} log records`);
  if (files.length === 0) {
    check(records.size === 0, `${t.name}: no files but the log has ${records.size} records`);
    continue;
  }
  const list = `[${files.map((f) => quote(f.abs)).join(',')}]`;
  await conn.run(`CREATE OR REPLACE VIEW t AS SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = true)`);
  const described = (await rows('DESCRIBE t')).map((r) => ({ name: r[0], type: r[1] }));
  const tableColumns = described.filter((c) => c.name !== 'event_date' && c.name !== 'event_hour');
  check(tableColumns.length === snapshot.schema.fields.length,
    `${t.name}: DuckDB sees ${tableColumns.length} columns, the snapshot has ${snapshot.schema.fields.length}`);

  // Exactly once: one row per log record, nothing else.
  const [[total]] = await rows('SELECT count(*)::VARCHAR FROM t');
  const snapshotRows = files.reduce((n, f) => n + f.rows, 0);
  check(Number(total) === records.size, `${t.name}: ${total} rows, the log has ${records.size} records`);
  check(Number(total) === snapshotRows, `${t.name}: ${total} rows, the snapshot counts ${snapshotRows}`);
  const positions = await rows(`SELECT log_partition::VARCHAR || '/' || log_offset::VARCHAR, count(*)::INTEGER FROM t GROUP BY ALL`);
  const duplicates = positions.filter((r) => r[1] !== 1);
  check(duplicates.length === 0, `${t.name}: ${duplicates.length} log positions appear more than once, e.g. ${duplicates.slice(0, 5).map((r) => r[0])}`);
  const inBronze = new Set(positions.map((r) => r[0]));
  const missing = [...records.keys()].filter((k) => !inBronze.has(k));
  check(missing.length === 0, `${t.name}: ${missing.length} log records missing from bronze, e.g. ${missing.slice(0, 5)}`);
  const extra = [...inBronze].filter((k) => !records.has(k));
  check(extra.length === 0, `${t.name}: ${extra.length} rows name no log record, e.g. ${extra.slice(0, 5)}`);

  // Per file: row count and column statistics against the snapshot.
  const fieldById = new Map(snapshot.schema.fields.map((f) => [f.id, f]));
  const step = Math.max(1, Math.floor(files.length / 40));
  for (let i = 0; i < files.length; i += step) {
    const f = files[i];
    const cols = f.columns.map((c) => ({ ...c, field: fieldById.get(c.field_id) }));
    const exprs = cols.flatMap(({ field }) => {
      const c = ident(field.name);
      const asText = (e) => (field.type === 'timestamp_ms' ? `epoch_ms(${e})::VARCHAR` : field.type === 'string' || field.type === 'boolean' || field.type === 'double' ? e : `${e}::VARCHAR`);
      return [`(count(*) - count(${c}))::VARCHAR`, asText(`min(${c})`), asText(`max(${c})`)];
    });
    const [got] = await rows(`SELECT count(*)::VARCHAR, ${exprs.join(', ')} FROM read_parquet(${quote(f.abs)})`);
    check(Number(got[0]) === f.rows, `${f.path}: DuckDB counts ${got[0]} rows, the snapshot ${f.rows}`);
    cols.forEach((c, k) => {
      const [nulls, min, max] = got.slice(1 + 3 * k, 4 + 3 * k);
      check(Number(nulls) === c.null_count, `${f.path}: ${c.field.name} has ${nulls} NULLs, the snapshot says ${c.null_count}`);
      if (c.min === null || c.min === undefined) return;
      const exact = (v) => !(c.field.type === 'string' && String(v).length >= 64);
      if (exact(c.min)) check(sameCell(c.min, min), `${f.path}: ${c.field.name} min ${min}, the snapshot says ${c.min}`);
      if (exact(c.max)) check(sameCell(c.max, max), `${f.path}: ${c.field.name} max ${max}, the snapshot says ${c.max}`);
    });
    // The file sits in the partition of its rows.
    const pcol = ident(snapshot.partition_spec.source_field);
    const [[minDay, maxDay, minHour, maxHour]] = await rows(
      `SELECT min(${pcol}::DATE)::VARCHAR, max(${pcol}::DATE)::VARCHAR, min(hour(${pcol})), max(hour(${pcol})) FROM read_parquet(${quote(f.abs)})`);
    check(minDay === f.partition.event_date && maxDay === f.partition.event_date &&
          Number(minHour) === f.partition.event_hour && Number(maxHour) === f.partition.event_hour,
      `${f.path}: rows span ${minDay} ${minHour}h .. ${maxDay} ${maxHour}h, partition ${f.partition.event_date} ${f.partition.event_hour}h`);
  }

  // Sampled rows, field by field, plus every record that carries an evolved context field.
  const isDlq = t.topic === 'dlq-events';
  const evolved = new Set(spec.evolution?.table === t.name ? Object.keys(spec.evolution.columns) : []);
  const keys = [...records.keys()];
  const sample = keys.filter((k, i) => i % Math.max(1, Math.floor(keys.length / 400)) === 0 ||
    [...evolved].some((c) => records.get(k).context?.[c.slice('context_'.length)] !== undefined));
  const columnsOut = tableColumns.filter((c) => !['log_partition', 'log_offset', 'properties'].includes(c.name));
  const selectExprs = columnsOut.map((c) => (c.type.startsWith('TIMESTAMP') ? `epoch_ms(${ident(c.name)})::VARCHAR` : c.type === 'BIGINT' ? `${ident(c.name)}::VARCHAR` : ident(c.name)));
  for (let i = 0; i < sample.length; i += 300) {
    const chunk = sample.slice(i, i + 300);
    const got = await rows(`SELECT log_partition::VARCHAR || '/' || log_offset::VARCHAR AS pos, ${isDlq ? 'NULL' : 'properties'}, ${selectExprs.join(', ')}
                            FROM t WHERE pos IN (${chunk.map(quote).join(',')})`);
    check(got.length === chunk.length, `${t.name}: DuckDB returned ${got.length} of ${chunk.length} sampled rows`);
    for (const row of got) {
      const v = records.get(row[0]);
      const want = isDlq ? expectedDlq(v) : expectedEvent(v, tableColumns);
      if (!isDlq) check(sameCell({ json: v.properties ?? {} }, row[1]), `${t.name} ${row[0]}: properties ${row[1]}, log ${JSON.stringify(v.properties)}`);
      columnsOut.forEach((c, k) => {
        if (!(c.name in want)) {
          if (c.name.endsWith('__text')) check(row[2 + k] === null, `${t.name} ${row[0]}: ${c.name} is ${row[2 + k]}, expected NULL`);
          return;
        }
        check(sameCell(want[c.name], row[2 + k]),
          `${t.name} ${row[0]}: ${c.name} reads ${JSON.stringify(row[2 + k])}, the log says ${JSON.stringify(want[c.name])}`);
      });
    }
  }

  // Schema evolution: the added columns have the JSON type, and rows without the field —
  // including every row of files written before the column existed — read as NULL.
  for (const name of evolved) {
    const want = spec.evolution.columns[name];
    const col = described.find((c) => c.name === name);
    check(col && col.type === want, `${t.name}: ${name} is ${col?.type}, expected ${want}`);
    if (!col) continue;
    const field = name.slice('context_'.length);
    // Values of another JSON type go to the __text column, so they do not count here.
    const fits = (x) => x !== undefined && x !== null &&
      (want === 'DOUBLE' ? typeof x === 'number' : want === 'BOOLEAN' ? typeof x === 'boolean' : true);
    const withField = [...records.values()].filter((v) => fits(v.context?.[field])).length;
    const [[nonNull, nulls]] = await rows(`SELECT count(${ident(name)})::INTEGER, (count(*) - count(${ident(name)}))::INTEGER FROM t`);
    check(nonNull === withField && withField > 0, `${t.name}: ${name} is set in ${nonNull} rows, the log has it in ${withField}`);
    check(nulls === records.size - withField, `${t.name}: ${name} is NULL in ${nulls} rows, expected ${records.size - withField}`);
    const fieldId = snapshot.schema.fields.find((f) => f.name === name).id;
    const older = files.filter((f) => !f.columns.some((c) => c.field_id === fieldId));
    check(older.length > 0, `${t.name}: no file predates ${name}, so NULL-filling of old files is untested`);
    if (older.length > 0) {
      const [[n]] = await rows(`SELECT count(*)::INTEGER FROM read_parquet(${quote(older[0].abs)}) WHERE false`);
      const [[nullsOld]] = await rows(`SELECT (count(*) - count(${ident(name)}))::INTEGER FROM t WHERE log_partition::VARCHAR || '/' || log_offset::VARCHAR IN (SELECT log_partition::VARCHAR || '/' || log_offset::VARCHAR FROM read_parquet(${quote(older[0].abs)}))`);
      check(n === 0 && nullsOld === older[0].rows, `${t.name}: ${older[0].path} predates ${name}: ${nullsOld} of ${older[0].rows} rows read as NULL`);
    }
  }

  // A query filtering on event date: by the hive partition column and by the timestamp.
  const timeField = isDlq ? 'received_at' : 'event_time';
  const perDate = new Map();
  for (const v of records.values()) {
    const d = utcDate(isDlq ? v.received_at : v.event_time ?? v.timestamp);
    perDate.set(d, (perDate.get(d) ?? 0) + 1);
  }
  for (const [date, n] of perDate) {
    const [[byPartition, byTime]] = await rows(
      `SELECT (SELECT count(*) FROM t WHERE event_date::VARCHAR = ${quote(date)})::INTEGER,
              (SELECT count(*) FROM t WHERE ${timeField}::DATE = DATE ${quote(date)})::INTEGER`);
    check(byPartition === n && byTime === n, `${t.name}: event date ${date}: partition filter ${byPartition}, time filter ${byTime}, the log ${n}`);
  }
  console.log(`${t.name}: ${perDate.size} event dates, ${sample.length} sampled rows compared`);
}

if (failures.length) {
  console.log(`bronze check: ${failures.length} of ${checks} checks failed:`);
  for (const f of failures) console.log(`  ${f}`);
  process.exit(1);
}
console.log(`bronze check: all ${checks} checks agree`);
