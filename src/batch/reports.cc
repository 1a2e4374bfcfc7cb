// Report readers (gold tables → rows) and formatters (rows → table, JSON or CSV text), for
// `tidemark report …` and GET /v1/reports/….
#include <algorithm>
#include <cstdio>

#include "batch/batch_internal.h"

namespace tidemark::batch {
namespace {

using lake::Column;
using lake::ColumnBatch;

Result<ColumnBatch> ReadGold(const std::string& data_dir, const char* name) {
  ASSIGN_OR_RETURN(auto table, internal::OpenIfExists(data_dir, internal::kGold, name));
  if (!table) {
    return Status::NotFound(internal::LakeRoot(data_dir) + "/gold/" + name +
                            " does not exist: run the batch job first");
  }
  std::vector<const lake::DataFile*> files;
  for (const lake::DataFile& f : table->current().files) files.push_back(&f);
  return internal::ReadFiles(*table, files, table->current().schema, 2);
}

bool InRange(const std::string& date, const std::string& from, const std::string& through) {
  return (from.empty() || date >= from) && (through.empty() || date <= through);
}

std::string Day(const Column& c, size_t r) {
  return internal::FormatDay(internal::DayOf(c.Int64At(r)));
}

std::optional<double> OptionalDouble(const Column& c, size_t r) {
  if (c.IsNull(r)) return std::nullopt;
  return c.DoubleAt(r);
}

// One cell of a report: text plus how JSON should carry it.
struct Cell {
  enum Kind { kText, kNumber, kNull, kBool } kind;
  std::string text;
};
Cell Text(std::string s) { return {Cell::kText, std::move(s)}; }
Cell Int(int64_t v) { return {Cell::kNumber, std::to_string(v)}; }
Cell Bool(bool v) { return {Cell::kBool, v ? "true" : "false"}; }
Cell Real(double v, bool exact) {
  char buf[40];
  std::snprintf(buf, sizeof buf, exact ? "%.17g" : "%.6g", v);
  return {Cell::kNumber, buf};
}
Cell Real(std::optional<double> v, bool exact) {
  return v ? Real(*v, exact) : Cell{Cell::kNull, ""};
}

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Render(const std::vector<std::string>& header,
                   const std::vector<std::vector<Cell>>& rows, ReportFormat format) {
  std::string out;
  switch (format) {
    case ReportFormat::kJson: {
      out = "[";
      for (size_t r = 0; r < rows.size(); ++r) {
        out += r ? ",\n {" : "\n {";
        for (size_t c = 0; c < header.size(); ++c) {
          out += (c ? "," : "") + JsonQuote(header[c]) + ":";
          const Cell& cell = rows[r][c];
          out += cell.kind == Cell::kText   ? JsonQuote(cell.text)
                 : cell.kind == Cell::kNull ? "null"
                                            : cell.text;
        }
        out += "}";
      }
      out += rows.empty() ? "]\n" : "\n]\n";
      return out;
    }
    case ReportFormat::kCsv: {
      for (size_t c = 0; c < header.size(); ++c) out += (c ? "," : "") + header[c];
      out += "\n";
      for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + CsvQuote(row[c].text);
        out += "\n";
      }
      return out;
    }
    case ReportFormat::kTable: {
      std::vector<size_t> width(header.size());
      for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
      for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c)
          width[c] = std::max(width[c], row[c].kind == Cell::kNull ? 1 : row[c].text.size());
      auto line = [&](auto cell_text, auto right_align) {
        for (size_t c = 0; c < header.size(); ++c) {
          const std::string t = cell_text(c);
          const std::string pad(width[c] - t.size(), ' ');
          out += (c ? "  " : "") + (right_align(c) ? pad + t : t + pad);
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += "\n";
      };
      line([&](size_t c) { return header[c]; }, [](size_t) { return false; });
      line([&](size_t c) { return std::string(width[c], '-'); }, [](size_t) { return false; });
      for (const auto& row : rows) {
        line([&](size_t c) { return row[c].kind == Cell::kNull ? std::string("-") : row[c].text; },
             [&](size_t c) { return row[c].kind != Cell::kText; });
      }
      if (rows.empty()) out += "(no rows)\n";
      return out;
    }
  }
  return out;
}

}  // namespace

Result<DailyReport> ReadDailyReport(const std::string& data_dir, const std::string& from_date,
                                    const std::string& through_date) {
  DailyReport report;
  ASSIGN_OR_RETURN(ColumnBatch days, ReadGold(data_dir, internal::kGoldDailyReport));
  for (size_t r = 0; r < days.num_rows(); ++r) {
    DailyReportRow row;
    row.date = Day(days.column(0), r);
    if (!InRange(row.date, from_date, through_date)) continue;
    row.events = days.column(1).Int64At(r);
    row.dau = days.column(2).Int64At(r);
    row.wau = days.column(3).Int64At(r);
    row.mau = days.column(4).Int64At(r);
    row.new_users = days.column(5).Int64At(r);
    row.sessions = days.column(6).Int64At(r);
    row.mean_session_seconds = days.column(7).DoubleAt(r);
    row.revenue = days.column(8).DoubleAt(r);
    report.days.push_back(std::move(row));
  }
  std::sort(report.days.begin(), report.days.end(),
            [](const auto& a, const auto& b) { return a.date < b.date; });
  ASSIGN_OR_RETURN(ColumnBatch events, ReadGold(data_dir, internal::kGoldDailyEvents));
  for (size_t r = 0; r < events.num_rows(); ++r) {
    DailyEventsRow row;
    row.date = Day(events.column(0), r);
    if (!InRange(row.date, from_date, through_date)) continue;
    row.event_type = std::string(events.column(1).StringAt(r));
    row.platform = std::string(events.column(2).StringAt(r));
    row.events = events.column(3).Int64At(r);
    report.events.push_back(std::move(row));
  }
  std::sort(report.events.begin(), report.events.end(), [](const auto& a, const auto& b) {
    return std::tie(a.date, a.event_type, a.platform) < std::tie(b.date, b.event_type, b.platform);
  });
  return report;
}

Result<std::vector<RetentionRow>> ReadRetention(const std::string& data_dir,
                                                const std::string& from_date,
                                                const std::string& through_date) {
  ASSIGN_OR_RETURN(ColumnBatch b, ReadGold(data_dir, internal::kGoldRetention));
  std::vector<RetentionRow> rows;
  for (size_t r = 0; r < b.num_rows(); ++r) {
    RetentionRow row;
    row.cohort_date = Day(b.column(0), r);
    if (!InRange(row.cohort_date, from_date, through_date)) continue;
    row.day = b.column(1).Int32At(r);
    row.cohort_users = b.column(2).Int64At(r);
    row.active_users = b.column(3).Int64At(r);
    row.share = b.column(4).DoubleAt(r);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.cohort_date, a.day) < std::tie(b.cohort_date, b.day);
  });
  return rows;
}

Result<std::vector<CohortRow>> ReadCohorts(const std::string& data_dir,
                                           const std::string& from_date,
                                           const std::string& through_date) {
  ASSIGN_OR_RETURN(ColumnBatch b, ReadGold(data_dir, internal::kGoldCohorts));
  std::vector<CohortRow> rows;
  for (size_t r = 0; r < b.num_rows(); ++r) {
    CohortRow row;
    row.cohort_week = Day(b.column(0), r);
    if (!InRange(row.cohort_week, from_date, through_date)) continue;
    row.weeks_since = b.column(1).Int32At(r);
    row.cohort_users = b.column(2).Int64At(r);
    row.active_users = b.column(3).Int64At(r);
    row.share = b.column(4).DoubleAt(r);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.cohort_week, a.weeks_since) < std::tie(b.cohort_week, b.weeks_since);
  });
  return rows;
}

Result<std::vector<AbResultRow>> ReadAbResults(const std::string& data_dir,
                                               const std::string& experiment) {
  ASSIGN_OR_RETURN(ColumnBatch b, ReadGold(data_dir, internal::kGoldAbResults));
  std::vector<AbResultRow> rows;
  for (size_t r = 0; r < b.num_rows(); ++r) {
    AbResultRow row;
    row.experiment = std::string(b.column(0).StringAt(r));
    if (!experiment.empty() && row.experiment != experiment) continue;
    row.variant = std::string(b.column(1).StringAt(r));
    row.exposed_users = b.column(3).Int64At(r);
    row.converted_users = b.column(4).Int64At(r);
    row.conversion_rate = b.column(5).DoubleAt(r);
    row.ci_low = b.column(6).DoubleAt(r);
    row.ci_high = b.column(7).DoubleAt(r);
    row.abs_lift = OptionalDouble(b.column(8), r);
    row.rel_lift = OptionalDouble(b.column(9), r);
    row.z = OptionalDouble(b.column(10), r);
    row.p_value = OptionalDouble(b.column(11), r);
    row.revenue_per_user = b.column(12).DoubleAt(r);
    row.revenue_t = OptionalDouble(b.column(13), r);
    row.revenue_df = OptionalDouble(b.column(14), r);
    row.revenue_p_value = OptionalDouble(b.column(15), r);
    row.srm_chi2 = b.column(16).DoubleAt(r);
    row.srm_p_value = b.column(17).DoubleAt(r);
    row.srm_flag = b.column(18).BoolAt(r);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.experiment, a.variant) < std::tie(b.experiment, b.variant);
  });
  return rows;
}

Result<ReportFormat> ParseReportFormat(std::string_view name) {
  if (name == "table") return ReportFormat::kTable;
  if (name == "json") return ReportFormat::kJson;
  if (name == "csv") return ReportFormat::kCsv;
  return Status::InvalidArgument("report format \"" + std::string(name) +
                                 "\" is not one of table, json, csv");
}

std::string FormatDailyReport(const DailyReport& report, ReportFormat format) {
  const bool exact = format != ReportFormat::kTable;
  std::vector<std::vector<Cell>> days;
  for (const auto& d : report.days) {
    days.push_back({Text(d.date), Int(d.events), Int(d.dau), Int(d.wau), Int(d.mau),
                    Int(d.new_users), Int(d.sessions), Real(d.mean_session_seconds, exact),
                    Real(d.revenue, exact)});
  }
  std::vector<std::vector<Cell>> events;
  for (const auto& e : report.events)
    events.push_back({Text(e.date), Text(e.event_type), Text(e.platform), Int(e.events)});
  const std::vector<std::string> day_header = {"date",     "events",
                                               "dau",      "wau",
                                               "mau",      "new_users",
                                               "sessions", "mean_session_seconds",
                                               "revenue"};
  const std::vector<std::string> event_header = {"date", "event_type", "platform", "events"};
  if (format == ReportFormat::kJson) {
    std::string a = Render(day_header, days, format);
    std::string b = Render(event_header, events, format);
    a.pop_back();
    b.pop_back();
    return "{\"days\":" + a + ",\n\"events\":" + b + "}\n";
  }
  // Table and CSV: the two parts one after the other, separated by a blank line.
  return Render(day_header, days, format) + "\n" + Render(event_header, events, format);
}

std::string FormatRetention(const std::vector<RetentionRow>& rows, ReportFormat format) {
  const bool exact = format != ReportFormat::kTable;
  std::vector<std::vector<Cell>> cells;
  for (const auto& r : rows) {
    cells.push_back({Text(r.cohort_date), Int(r.day), Int(r.cohort_users), Int(r.active_users),
                     Real(r.share, exact)});
  }
  return Render({"cohort_date", "day", "cohort_users", "active_users", "share"}, cells, format);
}

std::string FormatCohorts(const std::vector<CohortRow>& rows, ReportFormat format) {
  const bool exact = format != ReportFormat::kTable;
  std::vector<std::vector<Cell>> cells;
  for (const auto& r : rows) {
    cells.push_back({Text(r.cohort_week), Int(r.weeks_since), Int(r.cohort_users),
                     Int(r.active_users), Real(r.share, exact)});
  }
  return Render({"cohort_week", "weeks_since", "cohort_users", "active_users", "share"}, cells,
                format);
}

std::string FormatAbResults(const std::vector<AbResultRow>& rows, ReportFormat format) {
  const bool exact = format != ReportFormat::kTable;
  std::vector<std::vector<Cell>> cells;
  for (const auto& r : rows) {
    cells.push_back({Text(r.experiment), Text(r.variant), Int(r.exposed_users),
                     Int(r.converted_users), Real(r.conversion_rate, exact),
                     Real(r.ci_low, exact), Real(r.ci_high, exact), Real(r.abs_lift, exact),
                     Real(r.rel_lift, exact), Real(r.z, exact), Real(r.p_value, exact),
                     Real(r.revenue_per_user, exact), Real(r.revenue_t, exact),
                     Real(r.revenue_df, exact), Real(r.revenue_p_value, exact),
                     Real(r.srm_chi2, exact), Real(r.srm_p_value, exact), Bool(r.srm_flag)});
  }
  return Render({"experiment", "variant", "exposed_users", "converted_users", "conversion_rate",
                 "ci_low", "ci_high", "abs_lift", "rel_lift", "z", "p_value",
                 "revenue_per_user", "revenue_t", "revenue_df", "revenue_p_value", "srm_chi2",
                 "srm_p_value", "srm_flag"},
                cells, format);
}

}  // namespace tidemark::batch
