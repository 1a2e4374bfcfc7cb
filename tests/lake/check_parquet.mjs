// Independent reader check for tidemark's Parquet writer: DuckDB reads the files named in an
// expected-values JSON (written by src/lake/parquet_duckdb_check_test.cc) and every
// difference is reported. Usage: node check_parquet.mjs expected.json. Exit 0 = all match.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// @duckdb/node-api is installed under tests/node (scripts/install-test-tools.sh).
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const expected = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const failures = [];
let checks = 0;

const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;
async function rows(sql) {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowsJson();
}
function check(ok, what) {
  checks += 1;
  if (!ok) failures.push(what);
}
function sameValue(want, got) {
  if (want === null || got === null) return want === got;
  if (typeof want === 'number') return Number(got) === want;
  return String(want) === String(got);
}

for (const file of expected.files) {
  const f = quote(file.path);
  const name = file.path.split('/').pop();

  const [[count]] = await rows(`SELECT count(*)::VARCHAR FROM read_parquet(${f})`);
  check(count === String(file.num_rows), `${name}: DuckDB counts ${count} rows, expected ${file.num_rows}`);

  const described = await rows(`DESCRIBE SELECT * FROM read_parquet(${f})`);
  check(described.length === file.columns.length, `${name}: DuckDB sees ${described.length} columns`);
  file.columns.forEach((col, i) => {
    const [gotName, gotType] = described[i] ?? [];
    check(gotName === col.name && gotType === col.duck_type,
      `${name}: column ${i} is ${gotName} ${gotType}, expected ${col.name} ${col.duck_type}`);
  });

  const schemaRows = await rows(`SELECT name, field_id FROM parquet_schema(${f})`);
  for (const col of file.columns) {
    const row = schemaRows.find((r) => r[0] === col.name);
    check(row && Number(row[1]) === col.field_id, `${name}: ${col.name} field_id ${row?.[1]}, expected ${col.field_id}`);
  }

  // Sampled rows, field by field. Timestamps compare as epoch milliseconds, BIGINT as text.
  const exprs = file.columns.map((c) => {
    if (c.timestamp) return `epoch_ms(${ident(c.name)})::VARCHAR`;
    if (c.duck_type === 'BIGINT') return `${ident(c.name)}::VARCHAR`;
    return ident(c.name);
  });
  const indices = file.rows.map((r) => r.index);
  const got = await rows(`SELECT file_row_number, ${exprs.join(', ')} FROM read_parquet(${f}, file_row_number = true)
                          WHERE file_row_number IN (${indices.join(',')}) ORDER BY file_row_number`);
  check(got.length === file.rows.length, `${name}: DuckDB returned ${got.length} of ${file.rows.length} sampled rows`);
  const byIndex = new Map(got.map((r) => [Number(r[0]), r.slice(1)]));
  for (const row of file.rows) {
    const values = byIndex.get(row.index);
    if (!values) continue;
    row.values.forEach((want, c) => {
      check(sameValue(want, values[c]),
        `${name}: row ${row.index} column ${file.columns[c].name}: DuckDB reads ${JSON.stringify(values[c])}, expected ${JSON.stringify(want)}`);
    });
  }

  // NULLs per column.
  const nullExprs = file.columns.map((c) => `(count(*) - count(${ident(c.name)}))::VARCHAR`);
  const [nulls] = await rows(`SELECT ${nullExprs.join(', ')} FROM read_parquet(${f})`);
  file.columns.forEach((c, i) => {
    check(nulls[i] === String(c.null_count), `${name}: ${c.name} has ${nulls[i]} NULLs, expected ${c.null_count}`);
  });

  // Footer metadata as DuckDB parses it: row groups, statistics, codec, encodings.
  // stats_min_value/stats_max_value are compared through DuckDB's own typed cast of the text.
  const meta = await rows(`SELECT row_group_id, row_group_num_rows::VARCHAR, path_in_schema, stats_null_count::VARCHAR,
                                  stats_min_value, stats_max_value, compression, encodings
                           FROM parquet_metadata(${f}) ORDER BY row_group_id, column_id`);
  const groups = file.row_groups.length;
  check(meta.length === groups * file.columns.length, `${name}: parquet_metadata lists ${meta.length} chunks`);
  for (const [rgId, numRows, path, nullCount, minText, maxText, codec, encodings] of meta) {
    const rg = file.row_groups[Number(rgId)];
    const c = file.columns.findIndex((col) => col.name === path);
    if (!rg || c < 0) {
      check(false, `${name}: unexpected chunk ${rgId}/${path}`);
      continue;
    }
    const want = rg.columns[c];
    const where = `${name}: row group ${rgId} column ${path}`;
    check(numRows === String(rg.num_rows), `${where}: ${numRows} rows, expected ${rg.num_rows}`);
    check(nullCount === String(want.null_count), `${where}: null count ${nullCount}, expected ${want.null_count}`);
    check(codec === file.compression, `${where}: codec ${codec}, expected ${file.compression}`);
    check(encodings.includes('RLE_DICTIONARY') === want.dictionary, `${where}: encodings ${encodings}, dictionary expected ${want.dictionary}`);
    for (const [label, text, wantValue] of [['min', minText, want.min], ['max', maxText, want.max]]) {
      let gotValue = text;
      if (file.columns[c].timestamp && text !== null) {
        [[gotValue]] = await rows(`SELECT epoch_ms(${quote(text)}::TIMESTAMPTZ)::VARCHAR`);
      } else if (file.columns[c].duck_type === 'BOOLEAN' && text !== null) {
        [[gotValue]] = await rows(`SELECT ${quote(text)}::BOOLEAN`);
      }
      check(sameValue(wantValue, gotValue), `${where}: ${label} ${JSON.stringify(text)}, expected ${JSON.stringify(wantValue)}`);
    }
  }

  for (const q of file.queries) {
    const sql = q.sql.replaceAll('$file', f);
    const [[answer]] = await rows(sql);
    check(answer === q.expected, `${name}: ${sql}\n    gives ${answer}, expected ${q.expected}`);
  }
}

// The other direction: DuckDB writes the first file back out (its own encoders, row groups
// and microsecond timestamps) for the C++ side to read and compare.
if (expected.duckdb_copy_to) {
  const src = quote(expected.files[0].path);
  await conn.run(`COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${src}, file_row_number = true)
                        ORDER BY file_row_number)
                  TO ${quote(expected.duckdb_copy_to)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 4096)`);
}

if (failures.length > 0) {
  console.log(`DuckDB check FAILED: ${failures.length} of ${checks} checks`);
  for (const f of failures.slice(0, 50)) console.log(`  ${f}`);
  process.exit(1);
}
console.log(`DuckDB check passed: ${checks} checks over ${expected.files.length} files`);
