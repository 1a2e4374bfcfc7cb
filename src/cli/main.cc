// The `tidemark` command line: serve, keys, log dump, lake, schema, config defaults, loadgen.
// Exceptions from argument parsing stop here and become a usage message.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/batch_command.h"
#include "cli/commands.h"
#include "cli/lake_command.h"
#include "cli/loadgen.h"
#include "cli/schema_command.h"
#include "common/config.h"
#include "server/server.h"
#include "stream/ledger.h"

namespace {

using tidemark::Config;
using tidemark::Status;

// Loads --config then applies --set assignments on top of the defaults.
Status BuildConfig(const std::string& config_file, const std::vector<std::string>& sets, Config* config) {
  if (!config_file.empty()) RETURN_IF_ERROR(config->LoadTomlFile(config_file));
  for (const auto& s : sets) RETURN_IF_ERROR(config->SetAssignment(s));
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidemark: telemetry and event logging — ingest, log, stream, lake, batch"};
  app.require_subcommand(1);
  int rc = 0;

  // serve
  auto* serve = app.add_subcommand("serve", "run every stage in one process on an embedded data directory");
  std::string data_dir = "./data";
  std::string listen;
  std::string registry_listen;
  std::string config_file;
  std::vector<std::string> sets;
  serve->add_option("--data", data_dir, "data directory")->capture_default_str();
  serve->add_option("--listen", listen, "HOST:PORT of the HTTP listener (default 127.0.0.1:8080)");
  auto* registry_listen_option = serve->add_option("--registry-listen", registry_listen,
                    "HOST:PORT of the schema registry listener (default 127.0.0.1:8081; port 0 picks one; "
                    "empty turns it off)");
  serve->add_option("--config", config_file, "TOML configuration file");
  serve->add_option("--set", sets, "KEY=VALUE setting override (repeatable)");
  serve->callback([&] {
    tidemark::server::ServeOptions options;
    options.data_dir = data_dir;
    Status st = BuildConfig(config_file, sets, &options.config);
    if (st.ok() && !listen.empty()) st = options.config.Set("server.listen", listen);
    if (st.ok() && registry_listen_option->count() > 0) st = options.config.Set("server.registry_listen", registry_listen);
    if (!st.ok()) {
      std::fprintf(stderr, "tidemark serve: %s\n", st.ToString().c_str());
      rc = 2;
      return;
    }
    rc = tidemark::server::RunServe(options);
  });

  // config defaults
  auto* config_cmd = app.add_subcommand("config", "configuration");
  config_cmd->require_subcommand(1);
  auto* defaults = config_cmd->add_subcommand("defaults", "print every setting with its default, as TOML");
  defaults->callback([&] { std::cout << Config().DumpToml(); });

  // keys
  auto* keys = app.add_subcommand("keys", "manage write keys");
  keys->require_subcommand(1);
  std::string keys_data = "./data", source, platform = "web", scopes = "write", key_id;
  auto* kc = keys->add_subcommand("create", "create a key and print its secret");
  kc->add_option("--data", keys_data, "data directory")->capture_default_str();
  kc->add_option("--source", source, "source name (e.g. web-shop)")->required();
  kc->add_option("--platform", platform, "web|ios|android|server")
      ->check(CLI::IsMember({"web", "ios", "android", "server"}))->capture_default_str();
  kc->add_option("--scopes", scopes, "comma-separated: write,read,admin")->capture_default_str();
  kc->callback([&] { rc = tidemark::cli::KeysCreate(keys_data, source, platform, scopes); });
  auto* kl = keys->add_subcommand("list", "list keys (never their secrets)");
  kl->add_option("--data", keys_data, "data directory")->capture_default_str();
  kl->callback([&] { rc = tidemark::cli::KeysList(keys_data); });
  auto* kr = keys->add_subcommand("revoke", "revoke a key by its id");
  kr->add_option("--data", keys_data, "data directory")->capture_default_str();
  kr->add_option("id", key_id, "key id as shown by keys list")->required();
  kr->callback([&] { rc = tidemark::cli::KeysRevoke(keys_data, key_id); });

  // log dump
  auto* log_cmd = app.add_subcommand("log", "inspect the log");
  log_cmd->require_subcommand(1);
  tidemark::cli::LogDumpOptions dump;
  dump.data_dir = "./data";
  auto* ld = log_cmd->add_subcommand("dump", "print one JSON object per record");
  ld->add_option("--data", dump.data_dir, "data directory")->capture_default_str();
  ld->add_option("--topic", dump.topic, "topic name")->required();
  ld->add_option("--partition", dump.partition, "only this partition");
  ld->add_option("--from", dump.from, "first offset");
  ld->add_option("--limit", dump.limit, "print at most this many records");
  ld->add_flag("--raw-values", dump.raw_values, "also print each value's bytes in hex (value_hex)");
  ld->callback([&] { rc = tidemark::cli::LogDump(dump); });

  // reconcile
  auto* reconcile = app.add_subcommand("reconcile", "print the per-stage ledger per day and whether it balances");
  std::string reconcile_data = "./data", reconcile_date;
  reconcile->add_option("--data", reconcile_data, "data directory")->capture_default_str();
  reconcile->add_option("--date", reconcile_date, "only this UTC day (YYYY-MM-DD)");
  reconcile->callback([&] {
    auto rows = tidemark::stream::ReadLedger(reconcile_data);
    if (!rows.ok()) {
      std::fprintf(stderr, "tidemark reconcile: %s\n", rows.status().ToString().c_str());
      rc = 1;
      return;
    }
    std::vector<tidemark::stream::LedgerRow> selected;
    for (auto& row : *rows) {
      if (reconcile_date.empty() || row.day == reconcile_date) selected.push_back(std::move(row));
    }
    std::cout << tidemark::stream::RenderLedger(selected);
    rc = tidemark::cli::ReconcileBatchLayers(reconcile_data, reconcile_date);
  });

  // batch run
  auto* batch_cmd = app.add_subcommand("batch", "silver and gold batch jobs");
  batch_cmd->require_subcommand(1);
  std::string batch_data = "./data", batch_date, batch_through;
  auto* batch_run = batch_cmd->add_subcommand("run", "rebuild silver for the dates, then every gold table");
  batch_run->add_option("--data", batch_data, "data directory")->capture_default_str();
  batch_run->add_option("--date", batch_date, "first event date (YYYY-MM-DD)")->required();
  batch_run->add_option("--through", batch_through, "last event date (default: --date)");
  batch_run->callback([&] { rc = tidemark::cli::BatchRun(batch_data, batch_date, batch_through); });

  // report
  auto* report = app.add_subcommand("report", "print a gold report");
  std::string report_kind, report_format = "table", report_from, report_through, report_experiment;
  std::string report_data = "./data";
  report->add_option("kind", report_kind, "daily|retention|cohorts|ab")->required()
      ->check(CLI::IsMember({"daily", "retention", "cohorts", "ab"}));
  report->add_option("--data", report_data, "data directory")->capture_default_str();
  report->add_option("--format", report_format, "table|json|csv")->capture_default_str();
  report->add_option("--from", report_from, "first date");
  report->add_option("--through", report_through, "last date");
  report->add_option("--experiment", report_experiment, "only this experiment (ab)");
  report->callback([&] {
    rc = tidemark::cli::Report(report_data, report_kind, report_format, report_from, report_through,
                               report_experiment);
  });
  // lake ls|inspect|snapshots|expire
  auto* lake_cmd = app.add_subcommand("lake", "inspect and maintain the lake tables");
  lake_cmd->require_subcommand(1);
  tidemark::cli::LakeCommandOptions lake_options;
  auto lake_sub = [&](const char* name, const char* help, int (*run)(const tidemark::cli::LakeCommandOptions&)) {
    auto* sub = lake_cmd->add_subcommand(name, help);
    sub->add_option("--data", lake_options.data_dir, "data directory")->capture_default_str();
    sub->add_option("--layer", lake_options.layer, "bronze|silver|gold")->capture_default_str();
    sub->add_option("--table", lake_options.table, "one table, e.g. user_events (default: every table)");
    sub->callback([&, run] { rc = run(lake_options); });
    return sub;
  };
  lake_sub("ls", "list tables with version, files, rows and bytes", tidemark::cli::LakeList);
  lake_sub("inspect", "schema, partitions, source offsets and files of the current snapshot", tidemark::cli::LakeInspect);
  lake_sub("snapshots", "commit history", tidemark::cli::LakeSnapshots);
  auto* lake_expire = lake_sub("expire", "drop old snapshots and unreferenced data files", tidemark::cli::LakeExpire);
  lake_expire->add_option("--keep", lake_options.keep, "snapshots to keep (at least 1)")->capture_default_str();
  lake_expire->add_option("--grace-ms", lake_options.grace_ms, "unreferenced files younger than this survive")->capture_default_str();

  // schema register|list|show|check
  auto* schema_cmd = app.add_subcommand("schema", "the schema registry of a running server, over its REST API");
  schema_cmd->require_subcommand(1);
  tidemark::cli::SchemaCommandOptions schema_options;
  auto schema_sub = [&](const char* name, const char* help, int (*run)(const tidemark::cli::SchemaCommandOptions&)) {
    auto* sub = schema_cmd->add_subcommand(name, help);
    sub->add_option("--url", schema_options.url, "registry URL (server.registry_listen)")->capture_default_str();
    sub->add_option("--key", schema_options.key, "key with the read scope, admin to register (default $TIDEMARK_KEY)");
    sub->callback([&, run] { rc = run(schema_options); });
    return sub;
  };
  auto schema_subject = [&](CLI::App* sub) {
    auto* event_type = sub->add_option("--event-type", schema_options.event_type, "event type T: the subject T-value");
    auto* subject = sub->add_option("--subject", schema_options.subject, "a subject by name");
    event_type->excludes(subject);
  };
  auto* schema_register = schema_sub("register", "register a schema as the subject's next version (admin scope)",
                                     tidemark::cli::SchemaRegister);
  schema_subject(schema_register);
  schema_register->add_option("--file", schema_options.file, "the schema (.avsc)")->required();
  schema_sub("list", "every subject with its versions", tidemark::cli::SchemaList);
  auto* schema_show = schema_sub("show", "print a schema by subject version or by global id", tidemark::cli::SchemaShow);
  schema_subject(schema_show);
  auto* show_version = schema_show->add_option("--version", schema_options.version, "N or latest")->capture_default_str();
  schema_show->add_option("--id", schema_options.id, "global schema id")->excludes(show_version);
  auto* schema_check = schema_sub("check", "would this schema be accepted as the subject's next version?",
                                  tidemark::cli::SchemaCheck);
  schema_subject(schema_check);
  schema_check->add_option("--file", schema_options.file, "the schema (.avsc)")->required();

  // loadgen
  auto* lg = app.add_subcommand("loadgen", "send realistic synthetic events and measure");
  tidemark::cli::LoadgenOptions lo;
  lg->add_option("--url", lo.url, "server URL, e.g. http://127.0.0.1:8080 (omit to only --out)");
  lg->add_option("--key", lo.key, "write key");
  lg->add_option("--events", lo.events, "events to send")->capture_default_str();
  lg->add_option("--batch", lo.batch, "events per request")->capture_default_str();
  lg->add_option("--connections", lo.connections, "keep-alive connections")->capture_default_str();
  lg->add_option("--dup-rate", lo.dup_rate, "share of retried duplicates")->capture_default_str();
  lg->add_option("--late-rate", lo.late_rate, "share of late events")->capture_default_str();
  lg->add_option("--invalid-rate", lo.invalid_rate, "share of invalid events")->capture_default_str();
  lg->add_option("--seed", lo.seed, "random seed")->capture_default_str();
  lg->add_option("--users", lo.users, "distinct users")->capture_default_str();
  lg->add_option("--start-ms", lo.start_ms, "event time of the first event (epoch ms; default now - span)");
  lg->add_option("--span-ms", lo.span_ms, "event times spread over this span")->capture_default_str();
  lg->add_flag("--sent-at", lo.sent_at, "add sent_at to each batch");
  lg->add_option("--compression", lo.compression, "none|gzip|zstd")->capture_default_str();
  lg->add_option("--out", lo.out, "also write the events as JSON lines to this file");
  lg->add_option("--acked-out", lo.acked_out, "append event_ids of acknowledged events to this file");
  lg->add_option("--retry-timeout-ms", lo.retry_timeout_ms, "retry a batch this long")->capture_default_str();
  lg->add_flag("--json", lo.json, "print a JSON summary");
  lg->callback([&] {
    auto summary = tidemark::cli::RunLoadgen(lo);
    if (!summary.ok()) {
      std::fprintf(stderr, "tidemark loadgen: %s\n", summary.status().ToString().c_str());
      rc = 1;
      return;
    }
    if (lo.url.empty()) return;
    std::cout << (lo.json ? tidemark::cli::SummaryJson(*summary) + "\n" : tidemark::cli::SummaryText(*summary));
    if (summary->failed_batches > 0) rc = 1;
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
