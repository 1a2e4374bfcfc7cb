// Looks for raw values inside every Parquet file below a directory, through DuckDB (the
// pages are ZSTD-compressed, so a byte scan of the files proves nothing): every row of
// every file, all columns as text. Prints what it found; exits 1 when any value is found.
// Usage: node pii_scan_parquet.mjs <dir> <value>...   Exits 77 when DuckDB is not installed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireOrSkip } from './check_helpers.mjs';

const duckdb = requireOrSkip('@duckdb/node-api');

const [dir, ...needles] = process.argv.slice(2);
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (e.name.endsWith('.parquet')) files.push(join(d, e.name));
  }
};
walk(dir);

const instance = await duckdb.DuckDBInstance.create(':memory:');
const conn = await instance.connect();
let rows = 0;
let found = 0;
for (const file of files) {
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
  for (const row of reader.getRowObjectsJson()) {
    rows++;
    const text = JSON.stringify(row);
    for (const n of needles) {
      if (text.includes(n)) {
        found++;
        if (found <= 10) console.log(`${file}: holds '${n}': ${text.slice(0, 300)}`);
      }
    }
  }
}
console.log(`scanned ${files.length} Parquet files, ${rows} rows, for ${needles.length} values: ${found} found`);
process.exit(files.length > 0 && rows > 0 && found === 0 ? 0 : 1);
