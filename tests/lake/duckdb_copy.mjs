// For bench/lake_bench.cc: DuckDB writes the rows of the given Parquet files as its own ZSTD
// Parquet (one file per table) and prints the total size in bytes, the seconds its Parquet
// writer took (one thread) and the rows written.
// Usage: node duckdb_copy.mjs spec.json, spec = {"tables":[{"name","out","files":[…]}]}.
import { createRequire } from 'node:module';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
// Each table is loaded into memory first, so that the timed COPY is DuckDB's Parquet
// writer alone (one thread: the figure to set beside tidemark's per-core rate).
await conn.run('SET threads = 1');
let total = 0;
let seconds = 0;
let rows = 0;
for (const t of spec.tables) {
  if (t.files.length === 0) continue;
  await conn.run(`CREATE OR REPLACE TABLE rows_in AS
                  SELECT * FROM read_parquet([${t.files.map(quote).join(',')}], union_by_name = true)`);
  const count = await conn.runAndReadAll('SELECT count(*) FROM rows_in');
  rows += Number(count.getRows()[0][0]);
  const start = process.hrtime.bigint();
  await conn.run(`COPY rows_in TO ${quote(t.out)} (FORMAT parquet, COMPRESSION zstd)`);
  seconds += Number(process.hrtime.bigint() - start) / 1e9;
  total += statSync(t.out).size;
}
// "<bytes> <seconds of COPY> <rows>"
console.log(`${total} ${seconds.toFixed(3)} ${rows}`);
