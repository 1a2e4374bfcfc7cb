// The gold job: every gold table rebuilt from all of silver in one pass over the columns it
// needs. Users are interned to integers first, so the per-user work (active days, first-seen
// date, exposures) sorts and counts integers. docs/batch.md defines each figure.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include "batch/batch_internal.h"
#include "batch/statistics_internal.h"

namespace tidemark::batch::internal {
namespace {

using lake::Column;
using lake::ColumnBatch;
using lake::ColumnType;
using lake::Schema;

inline int64_t FloorDiv(int64_t a, int64_t b) { return (a >= 0 ? a : a - (b - 1)) / b; }
// ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday.
inline int64_t WeekOf(int64_t day) { return FloorDiv(day + 3, 7); }
inline int64_t WeekStartDay(int64_t week) { return week * 7 - 3; }

Schema Project(const Schema& schema, const std::vector<std::string>& names) {
  Schema s;
  for (const std::string& n : names) s.fields.push_back(schema.fields[schema.FindField(n)]);
  return s;
}

Result<ColumnBatch> ReadAll(const lake::Table& table, const std::vector<std::string>& names,
                            int threads) {
  std::vector<const lake::DataFile*> files;
  for (const lake::DataFile& f : table.current().files) files.push_back(&f);
  return ReadFiles(table, files, Project(table.current().schema, names), threads);
}

// Replaces the table's whole content with `batch`.
Status ReplaceAll(const std::string& data_dir, const std::string& name, Schema schema,
                  const std::string& partition_field,
                  const std::function<void(ColumnBatch&)>& fill) {
  ASSIGN_OR_RETURN(auto table, OpenOrCreate(data_dir, kGold, name, std::move(schema),
                                            partition_field));
  ColumnBatch batch(table->current().schema);
  fill(batch);
  ASSIGN_OR_RETURN(auto added, table->WriteFiles(batch));
  std::vector<std::string> removed;
  for (const lake::DataFile& f : table->current().files) removed.push_back(f.path);
  return table->Commit(added, removed, {});
}

void AppendOptional(Column& c, std::optional<double> v) {
  if (v)
    c.AppendDouble(*v);
  else
    c.AppendNull();
}

struct VariantAgg {
  int64_t exposed = 0;
  int64_t converted = 0;
  std::vector<double> revenue;  // per exposed user
};

}  // namespace

Status RunGold(const std::string& data_dir, const BatchOptions& options, BatchRunStats& stats) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto events_table, OpenOrCreate(data_dir, kSilver, kSilverEvents,
                                                   SilverEventsSchema(), "event_time"));
  ASSIGN_OR_RETURN(auto sessions_table, OpenOrCreate(data_dir, kSilver, kSilverSessions,
                                                     SilverSessionsSchema(), "session_start"));
  ASSIGN_OR_RETURN(ColumnBatch ev,
                   ReadAll(*events_table,
                           {"event_id", "event_type", "event_time", "user_key", "platform",
                            "revenue", "experiment", "variant"},
                           options.threads));
  ASSIGN_OR_RETURN(ColumnBatch se,
                   ReadAll(*sessions_table, {"session_start", "duration_ms"}, options.threads));
  const Column& event_id = ev.column(0);
  const Column& event_type = ev.column(1);
  const Column& event_time = ev.column(2);
  const Column& user_key = ev.column(3);
  const Column& platform = ev.column(4);
  const Column& revenue = ev.column(5);
  const Column& experiment = ev.column(6);
  const Column& variant = ev.column(7);
  const size_t n = ev.num_rows();

  // ---- interning: users, and (event_type, platform) pairs --------------------------
  std::unordered_map<std::string_view, uint32_t> users;
  users.reserve(n / 4 + 16);
  std::vector<uint32_t> uid(n, UINT32_MAX);
  std::vector<int64_t> day(n);
  int64_t min_day = INT64_MAX, max_day = INT64_MIN;
  for (size_t r = 0; r < n; ++r) {
    day[r] = DayOf(event_time.Int64At(r));
    min_day = std::min(min_day, day[r]);
    max_day = std::max(max_day, day[r]);
    if (!user_key.IsNull(r))
      uid[r] = users.try_emplace(user_key.StringAt(r), static_cast<uint32_t>(users.size()))
                   .first->second;
  }
  const size_t num_users = users.size();
  const int64_t num_days = n == 0 ? 0 : max_day - min_day + 1;

  // ---- per-day counts ----------------------------------------------------------------
  std::vector<int64_t> events_per_day(num_days, 0);
  std::vector<double> revenue_per_day(num_days, 0);
  for (size_t r = 0; r < n; ++r) {
    const int64_t d = day[r] - min_day;
    events_per_day[d] += 1;
    if (!revenue.IsNull(r)) revenue_per_day[d] += revenue.DoubleAt(r);
  }
  std::unordered_map<uint64_t, int64_t> breakdown;  // (day, type, platform) → events
  {
    std::unordered_map<std::string_view, uint32_t> types, platforms;
    std::vector<std::string_view> type_list, platform_list;
    for (size_t r = 0; r < n; ++r) {
      const std::string_view t = event_type.StringAt(r);
      const std::string_view p = platform.IsNull(r) ? "unknown" : platform.StringAt(r);
      auto ti = types.try_emplace(t, static_cast<uint32_t>(types.size()));
      if (ti.second) type_list.push_back(t);
      auto pi = platforms.try_emplace(p, static_cast<uint32_t>(platforms.size()));
      if (pi.second) platform_list.push_back(p);
      breakdown[(static_cast<uint64_t>(day[r] - min_day) << 40) |
                (static_cast<uint64_t>(ti.first->second) << 20) | pi.first->second] += 1;
    }
    struct Key {
      int64_t day;
      std::string_view type, platform;
      int64_t events;
    };
    std::vector<Key> rows;
    rows.reserve(breakdown.size());
    for (const auto& [k, count] : breakdown) {
      rows.push_back({static_cast<int64_t>(k >> 40) + min_day, type_list[(k >> 20) & 0xfffff],
                      platform_list[k & 0xfffff], count});
    }
    std::sort(rows.begin(), rows.end(), [](const Key& a, const Key& b) {
      if (a.day != b.day) return a.day < b.day;
      if (a.type != b.type) return a.type < b.type;
      return a.platform < b.platform;
    });
    RETURN_IF_ERROR(ReplaceAll(data_dir, kGoldDailyEvents, DailyEventsSchema(), "date",
                               [&](ColumnBatch& b) {
                                 for (const Key& k : rows) {
                                   b.column(0).AppendInt64(k.day * kMillisPerDay);
                                   b.column(1).AppendString(k.type);
                                   b.column(2).AppendString(k.platform);
                                   b.column(3).AppendInt64(k.events);
                                 }
                               }));
  }

  // ---- users' active days ------------------------------------------------------------
  // (user, day) pairs, unique, sorted by user then day.
  std::vector<uint64_t> active;
  active.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    if (uid[r] != UINT32_MAX)
      active.push_back((static_cast<uint64_t>(uid[r]) << 32) |
                       static_cast<uint32_t>(day[r] - min_day));
  }
  std::sort(active.begin(), active.end());
  active.erase(std::unique(active.begin(), active.end()), active.end());

  std::vector<int64_t> dau(num_days, 0), wau_diff(num_days + 31, 0), mau_diff(num_days + 31, 0);
  std::vector<int64_t> new_users(num_days, 0);
  std::vector<int64_t> first_day(num_users, 0);
  const int retention_days = std::max(1, options.retention_days);
  std::map<std::pair<int64_t, int64_t>, int64_t> retained;  // (cohort day, n) → users
  std::map<std::pair<int64_t, int64_t>, int64_t> weekly;    // (cohort week, k) → users
  for (size_t i = 0; i < active.size();) {
    const uint32_t u = static_cast<uint32_t>(active[i] >> 32);
    size_t j = i;
    const int64_t first = static_cast<int64_t>(active[i] & 0xffffffffu);
    first_day[u] = first;
    new_users[first] += 1;
    int64_t wau_covered = -1, mau_covered = -1;  // last day already counted for this user
    int64_t last_week = INT64_MIN;
    for (; j < active.size() && (active[j] >> 32) == u; ++j) {
      const int64_t d = static_cast<int64_t>(active[j] & 0xffffffffu);
      dau[d] += 1;
      // The user counts in WAU for days [d, d + 6]; skip days an earlier active day covered.
      const int64_t w_from = std::max(d, wau_covered + 1), w_to = d + 6;
      if (w_from <= w_to) {
        wau_diff[w_from] += 1;
        wau_diff[w_to + 1] -= 1;
        wau_covered = w_to;
      }
      const int64_t m_from = std::max(d, mau_covered + 1), m_to = d + 29;
      if (m_from <= m_to) {
        mau_diff[m_from] += 1;
        mau_diff[m_to + 1] -= 1;
        mau_covered = m_to;
      }
      const int64_t since = d - first;
      if (since >= 1 && since <= retention_days) retained[{first, since}] += 1;
      const int64_t week = WeekOf(d + min_day);
      if (week != last_week) {
        weekly[{WeekOf(first + min_day), week - WeekOf(first + min_day)}] += 1;
        last_week = week;
      }
    }
    i = j;
  }

  // ---- sessions per day ----------------------------------------------------------------
  std::vector<int64_t> sessions_per_day(num_days, 0);
  std::vector<int64_t> session_ms_per_day(num_days, 0);
  for (size_t r = 0; r < se.num_rows(); ++r) {
    const int64_t d = DayOf(se.column(0).Int64At(r)) - min_day;
    if (d < 0 || d >= num_days) continue;  // a date whose events were all deleted
    sessions_per_day[d] += 1;
    session_ms_per_day[d] += se.column(1).Int64At(r);
  }

  RETURN_IF_ERROR(ReplaceAll(
      data_dir, kGoldDailyReport, DailyReportSchema(), "date", [&](ColumnBatch& b) {
        int64_t wau = 0, mau = 0;
        for (int64_t d = 0; d < num_days; ++d) {
          wau += wau_diff[d];
          mau += mau_diff[d];
          if (events_per_day[d] == 0) continue;
          b.column(0).AppendInt64((d + min_day) * kMillisPerDay);
          b.column(1).AppendInt64(events_per_day[d]);
          b.column(2).AppendInt64(dau[d]);
          b.column(3).AppendInt64(wau);
          b.column(4).AppendInt64(mau);
          b.column(5).AppendInt64(new_users[d]);
          b.column(6).AppendInt64(sessions_per_day[d]);
          b.column(7).AppendDouble(sessions_per_day[d] == 0
                                       ? 0.0
                                       : static_cast<double>(session_ms_per_day[d]) /
                                             static_cast<double>(sessions_per_day[d]) / 1000.0);
          b.column(8).AppendDouble(revenue_per_day[d]);
        }
      }));

  RETURN_IF_ERROR(ReplaceAll(
      data_dir, kGoldRetention, RetentionSchema(), "cohort_date", [&](ColumnBatch& b) {
        for (int64_t c = 0; c < num_days; ++c) {
          if (new_users[c] == 0) continue;
          const int64_t last = std::min<int64_t>(retention_days, num_days - 1 - c);
          for (int64_t k = 1; k <= last; ++k) {
            auto it = retained.find({c, k});
            const int64_t active_users = it == retained.end() ? 0 : it->second;
            b.column(0).AppendInt64((c + min_day) * kMillisPerDay);
            b.column(1).AppendInt32(static_cast<int32_t>(k));
            b.column(2).AppendInt64(new_users[c]);
            b.column(3).AppendInt64(active_users);
            b.column(4).AppendDouble(static_cast<double>(active_users) /
                                     static_cast<double>(new_users[c]));
          }
        }
      }));

  RETURN_IF_ERROR(ReplaceAll(
      data_dir, kGoldCohorts, CohortsSchema(), "cohort_week", [&](ColumnBatch& b) {
        if (num_days == 0) return;
        std::map<int64_t, int64_t> cohort_size;
        for (int64_t c = 0; c < num_days; ++c)
          if (new_users[c] > 0) cohort_size[WeekOf(c + min_day)] += new_users[c];
        const int64_t last_week = WeekOf(max_day);
        for (const auto& [week, size] : cohort_size) {
          for (int64_t k = 0; k <= last_week - week; ++k) {
            auto it = weekly.find({week, k});
            const int64_t active_users = it == weekly.end() ? 0 : it->second;
            b.column(0).AppendInt64(WeekStartDay(week) * kMillisPerDay);
            b.column(1).AppendInt32(static_cast<int32_t>(k));
            b.column(2).AppendInt64(size);
            b.column(3).AppendInt64(active_users);
            b.column(4).AppendDouble(static_cast<double>(active_users) /
                                     static_cast<double>(size));
          }
        }
      }));

  // ---- A/B results -----------------------------------------------------------------------
  // First exposure per (experiment, user): earliest (event_time, event_id).
  std::map<std::string_view, std::unordered_map<uint32_t, uint32_t>> first_exposure;
  // Per user: conversion times and (time, revenue) of events with revenue, to look up the
  // window after an exposure.
  std::vector<std::vector<int64_t>> conversions(num_users);
  std::vector<std::vector<std::pair<int64_t, double>>> revenues(num_users);
  for (size_t r = 0; r < n; ++r) {
    if (uid[r] == UINT32_MAX) continue;
    const std::string_view type = event_type.StringAt(r);
    if (type == options.conversion_event) conversions[uid[r]].push_back(event_time.Int64At(r));
    if (!revenue.IsNull(r)) revenues[uid[r]].push_back({event_time.Int64At(r), revenue.DoubleAt(r)});
    if (type == "experiment_exposure" && !experiment.IsNull(r) && !variant.IsNull(r)) {
      auto [it, inserted] =
          first_exposure[experiment.StringAt(r)].try_emplace(uid[r], static_cast<uint32_t>(r));
      if (!inserted) {
        const uint32_t s = it->second;
        const int64_t tr = event_time.Int64At(r), ts = event_time.Int64At(s);
        if (tr < ts || (tr == ts && event_id.StringAt(r) < event_id.StringAt(s)))
          it->second = static_cast<uint32_t>(r);
      }
    }
  }
  for (auto& c : conversions) std::sort(c.begin(), c.end());
  for (auto& v : revenues) std::sort(v.begin(), v.end());
  std::vector<AbResultRow> ab_rows;
  std::vector<int64_t> ab_first;
  for (const auto& [name, exposures] : first_exposure) {
    std::map<std::string_view, VariantAgg> variants;
    int64_t earliest = INT64_MAX;
    for (const auto& [u, row] : exposures) {
      const int64_t t0 = event_time.Int64At(row);
      const int64_t t1 = t0 + options.conversion_window_ms;
      earliest = std::min(earliest, t0);
      VariantAgg& agg = variants[variant.StringAt(row)];
      agg.exposed += 1;
      const auto& conv = conversions[u];
      auto it = std::lower_bound(conv.begin(), conv.end(), t0);
      if (it != conv.end() && *it < t1) agg.converted += 1;
      double sum = 0;
      const auto& rev = revenues[u];
      for (auto rit = std::lower_bound(rev.begin(), rev.end(),
                                       std::pair<int64_t, double>{t0, -INFINITY});
           rit != rev.end() && rit->first < t1; ++rit) {
        sum += rit->second;
      }
      agg.revenue.push_back(sum);
    }
    std::vector<int64_t> counts;
    for (const auto& [v, agg] : variants) counts.push_back(agg.exposed);
    const stats::ChiSquareTest srm = stats::EqualSplitChiSquare(counts);
    struct Moments {
      double mean = 0, var = 0;
    };
    auto moments = [](const std::vector<double>& xs) {
      Moments m;
      if (xs.empty()) return m;
      for (const double x : xs) m.mean += x;
      m.mean /= static_cast<double>(xs.size());
      if (xs.size() > 1) {
        for (const double x : xs) m.var += (x - m.mean) * (x - m.mean);
        m.var /= static_cast<double>(xs.size() - 1);
      }
      return m;
    };
    const auto control_it = variants.find(options.control_variant);
    Moments control_m;
    if (control_it != variants.end()) control_m = moments(control_it->second.revenue);
    for (const auto& [v, agg] : variants) {
      AbResultRow row;
      row.experiment = std::string(name);
      row.variant = std::string(v);
      row.exposed_users = agg.exposed;
      row.converted_users = agg.converted;
      const double p = static_cast<double>(agg.converted) / static_cast<double>(agg.exposed);
      row.conversion_rate = p;
      const double half = stats::kZ975 * std::sqrt(p * (1 - p) / static_cast<double>(agg.exposed));
      row.ci_low = p - half;
      row.ci_high = p + half;
      const Moments m = moments(agg.revenue);
      row.revenue_per_user = m.mean;
      if (control_it != variants.end() && v != options.control_variant) {
        const VariantAgg& c = control_it->second;
        const double pc = static_cast<double>(c.converted) / static_cast<double>(c.exposed);
        row.abs_lift = p - pc;
        if (pc > 0) row.rel_lift = (p - pc) / pc;
        const auto z = stats::TwoProportionZTest(agg.converted, agg.exposed, c.converted,
                                                 c.exposed);
        if (z.defined) {
          row.z = z.z;
          row.p_value = z.p_value;
        }
        const auto w = stats::WelchTTest(m.mean, m.var, agg.exposed, control_m.mean,
                                         control_m.var, c.exposed);
        if (w.defined) {
          row.revenue_t = w.t;
          row.revenue_df = w.df;
          row.revenue_p_value = w.p_value;
        }
      }
      row.srm_chi2 = srm.chi2;
      row.srm_p_value = srm.p_value;
      row.srm_flag = counts.size() > 1 && srm.p_value < options.srm_p_threshold;
      ab_rows.push_back(std::move(row));
      ab_first.push_back(earliest);
    }
  }
  RETURN_IF_ERROR(ReplaceAll(
      data_dir, kGoldAbResults, AbResultsSchema(), "first_exposure", [&](ColumnBatch& b) {
        for (size_t i = 0; i < ab_rows.size(); ++i) {
          const AbResultRow& r = ab_rows[i];
          b.column(0).AppendString(r.experiment);
          b.column(1).AppendString(r.variant);
          b.column(2).AppendInt64(ab_first[i]);
          b.column(3).AppendInt64(r.exposed_users);
          b.column(4).AppendInt64(r.converted_users);
          b.column(5).AppendDouble(r.conversion_rate);
          b.column(6).AppendDouble(r.ci_low);
          b.column(7).AppendDouble(r.ci_high);
          AppendOptional(b.column(8), r.abs_lift);
          AppendOptional(b.column(9), r.rel_lift);
          AppendOptional(b.column(10), r.z);
          AppendOptional(b.column(11), r.p_value);
          b.column(12).AppendDouble(r.revenue_per_user);
          AppendOptional(b.column(13), r.revenue_t);
          AppendOptional(b.column(14), r.revenue_df);
          AppendOptional(b.column(15), r.revenue_p_value);
          b.column(16).AppendDouble(r.srm_chi2);
          b.column(17).AppendDouble(r.srm_p_value);
          b.column(18).AppendBool(r.srm_flag);
        }
      }));
  stats.gold_rebuilt = true;
  stats.gold_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return Status::Ok();
}

}  // namespace tidemark::batch::internal
