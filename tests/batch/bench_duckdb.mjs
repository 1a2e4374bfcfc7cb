// DuckDB side of bench/batch_bench.cc: the same silver + gold work as tidemark's batch jobs
// (gold_sql.mjs), over the same bronze files, with 2 threads, writing its tables as Parquet.
// Usage: node bench_duckdb.mjs spec.json out_dir. Prints "duckdb_seconds <s>".
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeAll } from './gold_sql.mjs';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await instance.connect();
const started = process.hrtime.bigint();
await computeAll(conn, spec, { writeTo: process.argv[3] });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`duckdb_seconds ${seconds.toFixed(3)}`);
