// The schema registry listener of the real `tidemark serve`: a Confluent client
// (tests/schema/registry_server_check.mjs, skipped when tests/node/node_modules is missing)
// and `tidemark schema register|list|show|check` against it, keys checked by scope, and
// the registry's state surviving a SIGTERM restart.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "common/files.h"
#include "common/subprocess.h"
#include "e2e/tidemark_server.h"

namespace tidemark::testing {
namespace {

const std::string kSourceDir = TIDEMARK_SOURCE_DIR;
const std::string kSchemas = kSourceDir + "/schemas";
const std::string kClientCheck = kSourceDir + "/tests/schema/registry_server_check.mjs";

const char* const kLoadgenTypes[] = {"page_view", "screen_view", "click", "add_to_cart", "purchase",
                                     "signup", "app_open", "experiment_exposure", "api_request"};

CommandResult Schema(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {TidemarkBinary(), "schema"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env);
}

std::string Minified(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return "<not JSON: " + json + ">";
  return simdjson::minify(doc);
}

std::string FileText(const std::string& path) {
  auto text = ReadFileToString(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : std::string();
}

TEST(SchemaRegistryTest, ConfluentClientAgainstTheRunningServersRegistryListener) {
  TidemarkServer server;
  const std::string admin = server.CreateKey("ops", "server", "admin");
  const std::string writer = server.CreateKey("web-shop", "web", "write");
  const std::string reader = server.CreateKey("analyst", "web", "read");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  ASSERT_NE(server.registry_port(), 0) << server.Output();
  ASSERT_NE(server.registry_port(), server.port());

  auto r = RunCommand({"/usr/bin/env", "node", kClientCheck, server.registry_url(), admin, writer, reader});
  if (r.exit_code == 77 || r.exit_code == 127) {
    GTEST_SKIP() << "node or the registry client is missing (run scripts/install-test-tools.sh): " << r.out << r.err;
  }
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\nserver:\n" << server.Output();
  EXPECT_EQ(server.Terminate(), 0) << server.Output();
}

TEST(SchemaRegistryTest, SchemaCommandsRegisterListShowCheckThroughTheRestApi) {
  TidemarkServer server;
  const std::string admin = server.CreateKey("ops", "server", "admin");
  const std::string writer = server.CreateKey("web-shop", "web", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  ASSERT_NE(server.registry_port(), 0) << server.Output();
  EXPECT_NE(server.Output().find("tidemark registry listening: http://127.0.0.1:" +
                                 std::to_string(server.registry_port()) + "\n"),
            std::string::npos)
      << server.Output();
  const std::vector<std::string> at = {"--url", server.registry_url(), "--key", admin};
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  // page_view v1..v3 evolve compatibly.
  // Schema id 1 is the generic schema, which serve registers at start.
  for (int v = 1; v <= 3; ++v) {
    auto r = Schema(with({"register", "--event-type", "page_view", "--file",
                          kSchemas + "/page_view/v" + std::to_string(v) + ".avsc"}, at));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "registered page_view-value version " + std::to_string(v) + ", schema id " +
                         std::to_string(v + 1) + "\n");
  }

  // The breaking v4: check says why, register is refused with the registry's 409.
  const std::string breaking = kSchemas + "/page_view/v4_breaking.avsc";
  auto check = Schema(with({"check", "--subject", "page_view-value", "--file", breaking}, at));
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_EQ(check.out.rfind("incompatible: " + breaking + " may not follow page_view-value versions 1,2,3 under "
                            "BACKWARD_TRANSITIVE:\n  - ", 0),
            0u)
      << check.out;
  EXPECT_NE(check.out.find("context.geo_lat"), std::string::npos) << check.out;
  auto refused = Schema(with({"register", "--event-type", "page_view", "--file", breaking}, at));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err.rfind("tidemark schema register: POST /subjects/page_view-value/versions answered "
                              "HTTP 409, error_code 409: Schema being registered is incompatible",
                              0),
            0u)
      << refused.err;
  EXPECT_NE(refused.err.find("context.geo_lat"), std::string::npos) << refused.err;

  // Every schema of schemas/loadgen registers under its event type; page_view's follows v3.
  auto compatible = Schema(with({"check", "--event-type", "page_view", "--file", kSchemas + "/loadgen/page_view.avsc"}, at));
  EXPECT_EQ(compatible.exit_code, 0) << compatible.out << compatible.err;
  EXPECT_EQ(compatible.out, "compatible: " + kSchemas + "/loadgen/page_view.avsc may follow page_view-value "
                            "versions 1,2,3 under BACKWARD_TRANSITIVE\n");
  for (const char* type : kLoadgenTypes) {
    auto r = Schema(with({"register", "--event-type", type, "--file", kSchemas + "/loadgen/" + type + ".avsc"}, at));
    EXPECT_EQ(r.exit_code, 0) << type << ": " << r.err;
    const std::string version = std::string(type) == "page_view" ? "4" : "1";
    EXPECT_EQ(r.out.rfind("registered " + std::string(type) + "-value version " + version + ", schema id ", 0), 0u)
        << r.out;
  }

  // list: every subject with its versions (the key may come from TIDEMARK_KEY).
  auto list = Schema({"list", "--url", server.registry_url()}, {"TIDEMARK_KEY=" + admin});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("SUBJECT", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("\npage_view-value                          1,2,3,4\n"), std::string::npos) << list.out;
  for (const char* type : kLoadgenTypes) {
    if (std::string(type) == "page_view") continue;
    const std::string line = std::string(type).append("-value ");
    EXPECT_NE(list.out.find(line), std::string::npos) << list.out;
  }

  // show by version and by id print the schema as registered; details go to stderr.
  auto v2 = Schema(with({"show", "--event-type", "page_view", "--version", "2"}, at));
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  EXPECT_EQ(v2.out, FileText(kSchemas + "/page_view/v2.avsc")) << "the text as registered";
  EXPECT_EQ(v2.err, "page_view-value version 2, schema id 3\n");
  auto by_id = Schema(with({"show", "--id", "4"}, at));
  ASSERT_EQ(by_id.exit_code, 0) << by_id.err;
  EXPECT_EQ(Minified(by_id.out), Minified(FileText(kSchemas + "/page_view/v3.avsc")));
  EXPECT_EQ(by_id.err, "schema id 4: page_view-value version 3\n");
  auto latest = Schema(with({"show", "--subject", "click-value"}, at));
  EXPECT_EQ(Minified(latest.out), Minified(FileText(kSchemas + "/loadgen/click.avsc")));

  // Errors carry the registry's error_code, or the gateway's key check.
  auto missing = Schema(with({"show", "--event-type", "nope"}, at));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "tidemark schema show: GET /subjects/nope-value/versions/latest answered HTTP 404, "
                         "error_code 40401: Subject 'nope-value' not found.\n");
  auto forbidden = Schema({"register", "--url", server.registry_url(), "--key", writer, "--event-type", "click",
                           "--file", kSchemas + "/loadgen/click.avsc"});
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_EQ(forbidden.err, "tidemark schema register: POST /subjects/click-value/versions answered HTTP 403, "
                           "forbidden: this key lacks the 'admin' scope\n");
  auto no_key = Schema({"list", "--url", server.registry_url()});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_EQ(no_key.err, "tidemark schema list: no key: pass --key KEY or set TIDEMARK_KEY\n");
  auto no_subject = Schema(with({"register", "--file", breaking}, at));
  EXPECT_EQ(no_subject.exit_code, 2);
  EXPECT_EQ(no_subject.err, "tidemark schema register: give exactly one of --event-type T or --subject S\n");

  // Each listener serves only its own paths.
  auto on_main = server.Get("/subjects", admin);
  ASSERT_TRUE(on_main.ok());
  EXPECT_EQ(on_main->status, 404);
  cli::HttpConnection registry_conn("127.0.0.1", server.registry_port());
  auto batch = registry_conn.Request("POST", "/v1/batch", "[]", {{"Authorization", "Bearer " + writer}});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->status, 404);

  // SIGTERM drains both listeners; the registry's state comes back from _schemas.
  ASSERT_EQ(server.Terminate(), 0) << server.Output();
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  auto after = Schema({"list", "--url", server.registry_url(), "--key", admin});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, list.out);
  EXPECT_EQ(server.Terminate(), 0) << server.Output();
}

}  // namespace
}  // namespace tidemark::testing
