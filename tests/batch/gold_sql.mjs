// Silver and gold recomputed from bronze Parquet files with DuckDB SQL, independently of
// tidemark's C++ (docs/batch.md defines the figures; this file restates them as SQL).
// Used by check_gold.mjs (compares with tidemark's tables) and bench_duckdb.mjs (times it).
// spec: {user_files:[…], server_files:[…], deleted_users:[…], session_gap_ms, conversion_event,
//        conversion_window_ms, retention_days}
export const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;
const list = (files) => `[${files.map(quote).join(', ')}]`;

export async function computeAll(conn, spec, { writeTo = null } = {}) {
  const run = (sql) => conn.run(sql);
  const bronzeSelect = (files, rank) => `
    SELECT event_id, event_type, epoch_ms(event_time) AS t, epoch_ms(received_at) AS recv,
           user_id, anonymous_id, session_id, platform, log_partition, log_offset, properties,
           ${rank} AS rank
    FROM read_parquet(${list(files)}, union_by_name = true)`;
  const parts = [];
  if (spec.user_files.length) parts.push(bronzeSelect(spec.user_files, 0));
  if (spec.server_files.length) parts.push(bronzeSelect(spec.server_files, 1));
  const deleted = spec.deleted_users.length ? spec.deleted_users.map(quote).join(', ') : 'NULL';
  // Silver: per event date, the first received copy of each event id; ties by log position,
  // then user_events before server_events. Deleted users' rows go.
  await run(`CREATE OR REPLACE TABLE silver AS
    SELECT * EXCLUDE (rn),
           coalesce(user_id, anonymous_id) AS uk,
           CASE WHEN json_type(properties, '$.revenue') IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT')
                THEN CAST(json_extract(properties, '$.revenue') AS DOUBLE) END AS revenue,
           CASE WHEN json_type(properties, '$.experiment') = 'VARCHAR'
                THEN json_extract_string(properties, '$.experiment') END AS experiment,
           CASE WHEN json_type(properties, '$.variant') = 'VARCHAR'
                THEN json_extract_string(properties, '$.variant') END AS variant
    FROM (SELECT *, row_number() OVER (PARTITION BY day, event_id
                                      ORDER BY recv, log_partition, log_offset, rank) AS rn
          FROM (SELECT *, t // 86400000 AS day FROM (${parts.join(' UNION ALL ')})))
    WHERE rn = 1
      AND NOT coalesce(user_id IN (${deleted}), false)
      AND NOT coalesce(anonymous_id IN (${deleted}), false)`);
  // Sessions per date and user: the client's session_id, else a new session after a gap
  // longer than session_gap_ms. Platform of the session's earliest (t, event_id) event.
  await run(`CREATE OR REPLACE TABLE sess AS
    WITH e AS (SELECT * FROM silver WHERE uk IS NOT NULL),
    client AS (SELECT day, uk, session_id, min(t) AS s, max(t) AS e, count(*) AS n,
                      first(platform ORDER BY t, event_id) AS p
               FROM e WHERE session_id IS NOT NULL GROUP BY day, uk, session_id),
    g AS (SELECT *, lag(t) OVER (PARTITION BY day, uk ORDER BY t, event_id) AS prev
          FROM e WHERE session_id IS NULL),
    g2 AS (SELECT *, sum(CASE WHEN prev IS NULL OR t - prev > ${spec.session_gap_ms} THEN 1 ELSE 0 END)
                     OVER (PARTITION BY day, uk ORDER BY t, event_id ROWS UNBOUNDED PRECEDING) AS sn
           FROM g),
    gap AS (SELECT day, uk, NULL::VARCHAR AS session_id, min(t) AS s, max(t) AS e, count(*) AS n,
                   first(platform ORDER BY t, event_id) AS p
            FROM g2 GROUP BY day, uk, sn)
    SELECT * FROM client UNION ALL SELECT * FROM gap`);
  await run(`CREATE OR REPLACE TABLE active AS SELECT DISTINCT uk, day FROM silver WHERE uk IS NOT NULL`);
  await run(`CREATE OR REPLACE TABLE firsts AS SELECT uk, min(day) AS fd FROM active GROUP BY uk`);
  const maxd = Number((await (await conn.runAndReadAll(`SELECT coalesce(max(day), 0) FROM silver`)).getRows())[0][0]);
  // Daily report. WAU/MAU: distinct users active in the 7 / 30 days ending on the date.
  await run(`CREATE OR REPLACE TABLE g_daily AS
    WITH days AS (SELECT day, count(*) AS events, coalesce(sum(revenue), 0) AS revenue FROM silver GROUP BY day),
    dau AS (SELECT day, count(*) AS dau FROM active GROUP BY day),
    wau AS (SELECT d.day, count(DISTINCT a.uk) AS wau FROM days d JOIN active a ON a.day BETWEEN d.day - 6 AND d.day GROUP BY d.day),
    mau AS (SELECT d.day, count(DISTINCT a.uk) AS mau FROM days d JOIN active a ON a.day BETWEEN d.day - 29 AND d.day GROUP BY d.day),
    nu AS (SELECT fd AS day, count(*) AS new_users FROM firsts GROUP BY fd),
    se AS (SELECT day, count(*) AS sessions, avg(e - s) / 1000 AS mean_s FROM sess GROUP BY day)
    SELECT days.day, events, coalesce(dau, 0) AS dau, coalesce(wau, 0) AS wau, coalesce(mau, 0) AS mau,
           coalesce(new_users, 0) AS new_users, coalesce(sessions, 0) AS sessions,
           coalesce(mean_s, 0) AS mean_session_seconds, revenue
    FROM days LEFT JOIN dau USING (day) LEFT JOIN wau USING (day) LEFT JOIN mau USING (day)
              LEFT JOIN nu USING (day) LEFT JOIN se USING (day)`);
  await run(`CREATE OR REPLACE TABLE g_daily_events AS
    SELECT day, event_type, coalesce(platform, 'unknown') AS platform, count(*) AS events
    FROM silver GROUP BY ALL`);
  // Retention: cohort = first-seen date; day k = 1 … R while cohort + k ≤ the last date.
  const R = spec.retention_days;
  await run(`CREATE OR REPLACE TABLE g_retention AS
    WITH cohort AS (SELECT fd, count(*) AS n FROM firsts GROUP BY fd),
    ret AS (SELECT f.fd, a.day - f.fd AS k, count(*) AS active FROM active a JOIN firsts f USING (uk)
            WHERE a.day - f.fd BETWEEN 1 AND ${R} GROUP BY ALL)
    SELECT c.fd AS cohort_day, k.range AS k, c.n AS cohort_users, coalesce(r.active, 0) AS active_users,
           coalesce(r.active, 0) / c.n AS share
    FROM cohort c CROSS JOIN range(1, ${R + 1}) k LEFT JOIN ret r ON r.fd = c.fd AND r.k = k.range
    WHERE c.fd + k.range <= ${maxd}`);
  // Cohorts: ISO weeks (Monday start; day 0 was a Thursday, hence + 3).
  const maxw = Math.floor((maxd + 3) / 7);
  await run(`CREATE OR REPLACE TABLE g_cohorts AS
    WITH fw AS (SELECT uk, (fd + 3) // 7 AS cw FROM firsts),
    aw AS (SELECT DISTINCT uk, (day + 3) // 7 AS w FROM active),
    csize AS (SELECT cw, count(*) AS n FROM fw GROUP BY cw),
    act AS (SELECT cw, w - cw AS k, count(*) AS a FROM aw JOIN fw USING (uk) GROUP BY ALL)
    SELECT c.cw * 7 - 3 AS week_day, k.range AS k, c.n AS cohort_users, coalesce(a.a, 0) AS active_users,
           coalesce(a.a, 0) / c.n AS share
    FROM csize c CROSS JOIN range(0, ${maxw + 1}) k LEFT JOIN act a ON a.cw = c.cw AND a.k = k.range
    WHERE k.range <= ${maxw} - c.cw`);
  // A/B: first exposure per (experiment, user); conversion and revenue within the window.
  await run(`CREATE OR REPLACE TABLE g_ab_agg AS
    WITH x AS (SELECT experiment, uk, first(variant ORDER BY t, event_id) AS v, min(t) AS t0
               FROM silver WHERE event_type = 'experiment_exposure' AND experiment IS NOT NULL
                 AND variant IS NOT NULL AND uk IS NOT NULL GROUP BY experiment, uk),
    pu AS (SELECT x.experiment, x.uk, x.v, x.t0,
                  coalesce(max(CASE WHEN c.event_type = ${quote(spec.conversion_event)} THEN 1 ELSE 0 END), 0) AS conv,
                  coalesce(sum(c.revenue), 0) AS rev
           FROM x LEFT JOIN silver c ON c.uk = x.uk AND c.t >= x.t0 AND c.t < x.t0 + ${spec.conversion_window_ms}
           GROUP BY x.experiment, x.uk, x.v, x.t0)
    SELECT experiment, v AS variant, min(min(t0)) OVER (PARTITION BY experiment) AS first_exposure,
           count(*) AS n, sum(conv) AS x, avg(rev) AS mean, coalesce(var_samp(rev), 0) AS var
    FROM pu GROUP BY experiment, v`);
  if (writeTo) {
    // The bench: DuckDB writes its silver and gold tables as Parquet, as tidemark does.
    for (const t of ['silver', 'sess', 'g_daily', 'g_daily_events', 'g_retention', 'g_cohorts', 'g_ab_agg']) {
      await run(`COPY ${t} TO ${quote(`${writeTo}/${t}.parquet`)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
    }
  }
}
