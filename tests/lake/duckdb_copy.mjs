// For bench/lake_bench.cc: DuckDB writes the rows of the given Parquet files as its own ZSTD
// Parquet (one file per table) and prints the total size in bytes.
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
let total = 0;
for (const t of spec.tables) {
  if (t.files.length === 0) continue;
  await conn.run(`COPY (SELECT * FROM read_parquet([${t.files.map(quote).join(',')}], union_by_name = true))
                  TO ${quote(t.out)} (FORMAT parquet, COMPRESSION zstd)`);
  total += statSync(t.out).size;
}
console.log(total);
