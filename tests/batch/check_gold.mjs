// Independent check of tidemark's batch tables: DuckDB recomputes silver and every gold table
// from the bronze files (gold_sql.mjs), this script computes the A/B statistics from DuckDB's
// aggregates with its own numerical methods (below), and both are compared with the tables
// tidemark wrote. Counts must be equal; other numbers within 1e-9 (relative above 1,
// absolute below; p-values absolute). Usage: node check_gold.mjs spec.json. Exit 0 = match.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeAll, quote } from './gold_sql.mjs';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

// ---- statistics, written independently of src/batch/statistics.cc ----------------------
// erfc: for x < 3 the all-positive series erf(x) = 2/√π e^{-x²} Σ 2^n x^{2n+1} / (2n+1)!!;
// beyond, the Laplace continued fraction evaluated bottom-up from a fixed depth.
function erfc(x) {
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  let f = x;
  for (let k = 300; k >= 1; k--) f = x + (k / 2) / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}
const normalCdf = (z) => 0.5 * erfc(-z / Math.SQRT2);
// ln Γ by Lanczos (g = 7, nine coefficients).
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
function lgamma(x) {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}
// Student t two-sided p: 1 − 2∫₀^|t| density, the integral by adaptive Simpson.
function studentTwoSided(t, df) {
  const logc = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  const f = (x) => Math.exp(logc - ((df + 1) / 2) * Math.log1p((x * x) / df));
  const simpson = (a, b, fa, fm, fb) => ((b - a) / 6) * (fa + 4 * fm + fb);
  function adapt(a, b, fa, fm, fb, whole, eps, depth) {
    const m = (a + b) / 2, lm = (a + m) / 2, rm = (m + b) / 2;
    const flm = f(lm), frm = f(rm);
    const left = simpson(a, m, fa, flm, fm), right = simpson(m, b, fm, frm, fb);
    if (depth > 50 || Math.abs(left + right - whole) <= 15 * eps) return left + right + (left + right - whole) / 15;
    return adapt(a, m, fa, flm, fm, left, eps / 2, depth + 1) + adapt(m, b, fm, frm, fb, right, eps / 2, depth + 1);
  }
  const b = Math.abs(t);
  if (b === 0) return 1;
  const fa = f(0), fm = f(b / 2), fb = f(b);
  return Math.max(0, 1 - 2 * adapt(0, b, fa, fm, fb, simpson(0, b, fa, fm, fb), 1e-15, 0));
}
// Chi-square upper tail for integer df by the closed-form sums.
function chiSquareUpper(x, k) {
  if (x <= 0) return 1;
  const h = x / 2;
  let sum = 0;
  if (k % 2 === 0) {
    let term = 1;
    for (let i = 0; i < k / 2; i++) { if (i > 0) term *= h / i; sum += term; }
    return Math.exp(-h) * sum;
  }
  let term = Math.sqrt(h) / (0.5 * Math.sqrt(Math.PI));  // h^{1/2} / Γ(3/2)
  for (let i = 0; i <= (k - 3) / 2; i++) { sum += term; term *= h / (i + 1.5); }
  return erfc(Math.sqrt(h)) + Math.exp(-h) * sum;
}

function abRows(aggs, spec) {
  const byExp = new Map();
  for (const a of aggs) {
    if (!byExp.has(a.experiment)) byExp.set(a.experiment, []);
    byExp.get(a.experiment).push(a);
  }
  const rows = [];
  for (const [experiment, vs] of byExp) {
    const total = vs.reduce((s, v) => s + v.n, 0);
    const expected = total / vs.length;
    const chi2 = vs.length < 2 ? 0 : vs.reduce((s, v) => s + (v.n - expected) ** 2 / expected, 0);
    const srmP = vs.length < 2 ? 1 : chiSquareUpper(chi2, vs.length - 1);
    const control = vs.find((v) => v.variant === spec.control_variant);
    for (const v of vs) {
      const p = v.x / v.n;
      const half = 1.959963984540054 * Math.sqrt((p * (1 - p)) / v.n);
      const row = { experiment, variant: v.variant, first_exposure: v.first_exposure, exposed_users: v.n,
        converted_users: v.x, conversion_rate: p, ci_low: p - half, ci_high: p + half,
        abs_lift: null, rel_lift: null, z: null, p_value: null, revenue_per_user: v.mean,
        revenue_t: null, revenue_df: null, revenue_p_value: null, srm_chi2: chi2, srm_p_value: srmP,
        srm_flag: vs.length > 1 && srmP < spec.srm_p_threshold };
      if (control && v !== control) {
        const pc = control.x / control.n;
        row.abs_lift = p - pc;
        if (pc > 0) row.rel_lift = (p - pc) / pc;
        const pooled = (v.x + control.x) / (v.n + control.n);
        const se = Math.sqrt(pooled * (1 - pooled) * (1 / v.n + 1 / control.n));
        if (se > 0) { row.z = (p - pc) / se; row.p_value = 2 * normalCdf(-Math.abs(row.z)); }
        if (v.n >= 2 && control.n >= 2) {
          const s1 = v.var / v.n, s2 = control.var / control.n;
          if (s1 + s2 > 0) {
            row.revenue_t = (v.mean - control.mean) / Math.sqrt(s1 + s2);
            row.revenue_df = (s1 + s2) ** 2 / (s1 * s1 / (v.n - 1) + s2 * s2 / (control.n - 1));
            row.revenue_p_value = studentTwoSided(row.revenue_t, row.revenue_df);
          }
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

// ---- comparison ---------------------------------------------------------------------------
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await instance.connect();
const rowsOf = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
const failures = [];
let checks = 0;
const check = (ok, what) => { checks += 1; if (!ok) failures.push(what); };
const pValueColumns = new Set(['p_value', 'revenue_p_value', 'srm_p_value']);
function same(col, want, got) {
  if (want === null || got === null || want === undefined || got === undefined) return want == got;
  if (typeof want === 'boolean' || typeof got === 'boolean') return Boolean(want) === Boolean(got);
  if (typeof want === 'string' && isNaN(Number(want))) return want === got;
  const a = Number(want), b = Number(got);
  if (Number.isInteger(a) && Number.isInteger(b) && !pValueColumns.has(col) && Math.abs(a) > 1e6) return a === b;
  const tol = pValueColumns.has(col) ? 1e-9 : 1e-9 * Math.max(1, Math.abs(a));
  return Math.abs(a - b) <= tol;
}
function compare(name, want, got, key, columns) {
  check(want.length === got.length, `${name}: DuckDB has ${want.length} rows, tidemark ${got.length}`);
  const index = new Map(got.map((r) => [key(r), r]));
  let shown = 0;
  for (const w of want) {
    const g = index.get(key(w));
    if (!g) { check(false, `${name}: tidemark lacks row ${key(w)}`); continue; }
    for (const c of columns) {
      const ok = same(c, w[c], g[c]);
      check(ok, `${name} ${key(w)}: ${c} DuckDB ${w[c]} tidemark ${g[c]}`);
      if (!ok && ++shown > 20) return;
    }
  }
}
const ours = (files) => `read_parquet(${`[${files.map(quote).join(', ')}]`})`;

await computeAll(conn, spec);

// Silver events: the same surviving copy of every event (its log position shows which).
const [silverDiff] = await rowsOf(`
  WITH a AS (SELECT event_id, t, recv, log_partition, log_offset, uk, revenue, experiment, variant FROM silver),
  b AS (SELECT event_id, epoch_ms(event_time) AS t, epoch_ms(received_at) AS recv, log_partition, log_offset,
               user_key AS uk, revenue, experiment, variant FROM ${ours(spec.ours.silver_events)})
  SELECT (SELECT count(*) FROM a)::VARCHAR AS duck, (SELECT count(*) FROM b)::VARCHAR AS tm,
         (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b))::VARCHAR AS only_duck,
         (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a))::VARCHAR AS only_tm`);
check(silverDiff.duck === silverDiff.tm && silverDiff.only_duck === '0' && silverDiff.only_tm === '0',
  `silver.events: DuckDB ${silverDiff.duck} rows, tidemark ${silverDiff.tm}, differing ${silverDiff.only_duck}/${silverDiff.only_tm}`);
const [sessDiff] = await rowsOf(`
  WITH a AS (SELECT uk, session_id, s, e, e - s AS d, n, p FROM sess),
  b AS (SELECT user_key, session_id, epoch_ms(session_start), epoch_ms(session_end), duration_ms, event_count, platform
        FROM ${ours(spec.ours.silver_sessions)})
  SELECT (SELECT count(*) FROM a)::VARCHAR AS duck, (SELECT count(*) FROM b)::VARCHAR AS tm,
         (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b))::VARCHAR AS only_duck,
         (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a))::VARCHAR AS only_tm`);
check(sessDiff.duck === sessDiff.tm && sessDiff.only_duck === '0' && sessDiff.only_tm === '0',
  `silver.sessions: DuckDB ${sessDiff.duck} rows, tidemark ${sessDiff.tm}, differing ${sessDiff.only_duck}/${sessDiff.only_tm}`);

const dayKey = (r) => String(r.date);
compare('daily_report',
  await rowsOf(`SELECT (day * 86400000)::VARCHAR AS date, events::VARCHAR AS events, dau::VARCHAR AS dau, wau::VARCHAR AS wau,
                       mau::VARCHAR AS mau, new_users::VARCHAR AS new_users, sessions::VARCHAR AS sessions,
                       mean_session_seconds, revenue FROM g_daily`),
  await rowsOf(`SELECT epoch_ms(date)::VARCHAR AS date, events::VARCHAR AS events, dau::VARCHAR AS dau, wau::VARCHAR AS wau,
                       mau::VARCHAR AS mau, new_users::VARCHAR AS new_users, sessions::VARCHAR AS sessions,
                       mean_session_seconds, revenue FROM ${ours(spec.ours.daily_report)}`),
  dayKey, ['events', 'dau', 'wau', 'mau', 'new_users', 'sessions', 'mean_session_seconds', 'revenue']);
compare('daily_events',
  await rowsOf(`SELECT (day * 86400000)::VARCHAR AS date, event_type, platform, events::VARCHAR AS events FROM g_daily_events`),
  await rowsOf(`SELECT epoch_ms(date)::VARCHAR AS date, event_type, platform, events::VARCHAR AS events FROM ${ours(spec.ours.daily_events)}`),
  (r) => `${r.date}/${r.event_type}/${r.platform}`, ['events']);
compare('retention',
  await rowsOf(`SELECT (cohort_day * 86400000)::VARCHAR AS c, k::INTEGER AS k, cohort_users::VARCHAR AS cohort_users,
                       active_users::VARCHAR AS active_users, share FROM g_retention`),
  await rowsOf(`SELECT epoch_ms(cohort_date)::VARCHAR AS c, day AS k, cohort_users::VARCHAR AS cohort_users,
                       active_users::VARCHAR AS active_users, share FROM ${ours(spec.ours.retention)}`),
  (r) => `${r.c}/${r.k}`, ['cohort_users', 'active_users', 'share']);
compare('cohorts',
  await rowsOf(`SELECT (week_day * 86400000)::VARCHAR AS c, k::INTEGER AS k, cohort_users::VARCHAR AS cohort_users,
                       active_users::VARCHAR AS active_users, share FROM g_cohorts`),
  await rowsOf(`SELECT epoch_ms(cohort_week)::VARCHAR AS c, weeks_since AS k, cohort_users::VARCHAR AS cohort_users,
                       active_users::VARCHAR AS active_users, share FROM ${ours(spec.ours.cohorts)}`),
  (r) => `${r.c}/${r.k}`, ['cohort_users', 'active_users', 'share']);
const aggs = (await rowsOf(`SELECT experiment, variant, first_exposure::VARCHAR AS first_exposure, n::BIGINT AS n,
                                   x::BIGINT AS x, mean, var FROM g_ab_agg`))
  .map((r) => ({ ...r, n: Number(r.n), x: Number(r.x), mean: Number(r.mean), var: Number(r.var) }));
const abCols = ['first_exposure', 'exposed_users', 'converted_users', 'conversion_rate', 'ci_low', 'ci_high', 'abs_lift',
  'rel_lift', 'z', 'p_value', 'revenue_per_user', 'revenue_t', 'revenue_df', 'revenue_p_value', 'srm_chi2',
  'srm_p_value', 'srm_flag'];
const abOurs = await rowsOf(`SELECT * REPLACE (epoch_ms(first_exposure)::VARCHAR AS first_exposure) FROM ${ours(spec.ours.ab_results)}`);
const abWant = abRows(aggs, spec);
compare('ab_results', abWant, abOurs, (r) => `${r.experiment}/${r.variant}`, abCols);
check(abWant.some((r) => r.srm_flag), 'ab_results: the data has a broken split, DuckDB flags none');

const counts = { silver: silverDiff.duck, sessions: sessDiff.duck, experiments: abWant.length };
if (failures.length > 0) {
  console.log(`batch DuckDB check FAILED: ${failures.length} of ${checks} checks`);
  for (const f of failures.slice(0, 60)) console.log(`  ${f}`);
  process.exit(1);
}
console.log(`batch DuckDB check passed: ${checks} checks (${JSON.stringify(counts)})`);
