// Compatibility modes on top of resolution plans: a reader can read a writer's data when
// building the plan for the pair finds no problem, including problems in writer union
// branches, which a decoder would only meet at run time.
#include "schema/compatibility.h"

#include <fmt/format.h>

#include "schema/resolution_internal.h"

namespace tidemark::schema {

namespace {
constexpr std::pair<CompatibilityMode, std::string_view> kModeNames[] = {
    {CompatibilityMode::kNone, "NONE"},
    {CompatibilityMode::kBackward, "BACKWARD"},
    {CompatibilityMode::kBackwardTransitive, "BACKWARD_TRANSITIVE"},
    {CompatibilityMode::kForward, "FORWARD"},
    {CompatibilityMode::kForwardTransitive, "FORWARD_TRANSITIVE"},
    {CompatibilityMode::kFull, "FULL"},
    {CompatibilityMode::kFullTransitive, "FULL_TRANSITIVE"},
};
}  // namespace

std::string_view CompatibilityModeName(CompatibilityMode mode) {
  for (auto& [m, name] : kModeNames)
    if (m == mode) return name;
  return "?";
}

std::optional<CompatibilityMode> ParseCompatibilityMode(std::string_view name) {
  for (auto& [m, n] : kModeNames)
    if (n == name) return m;
  return std::nullopt;
}

std::vector<std::string> ReaderProblems(const AvroSchema& reader, const AvroSchema& writer,
                                        std::string_view reader_label,
                                        std::string_view writer_label) {
  std::vector<std::unique_ptr<ResolvingDecoder::Plan>> plans;
  internal::ResolutionIssues issues;
  internal::BuildResolutionPlan(writer.root(), reader.root(), writer_label, reader_label, &plans,
                                &issues);
  std::vector<std::string> all = std::move(issues.hard);
  all.insert(all.end(), issues.soft.begin(), issues.soft.end());
  return all;
}

CompatibilityResult CheckCompatibility(const AvroSchema& candidate,
                                       const std::vector<ExistingVersion>& existing,
                                       CompatibilityMode mode) {
  CompatibilityResult result;
  if (mode == CompatibilityMode::kNone || existing.empty()) return result;
  bool transitive = mode == CompatibilityMode::kBackwardTransitive ||
                    mode == CompatibilityMode::kForwardTransitive ||
                    mode == CompatibilityMode::kFullTransitive;
  bool backward = mode == CompatibilityMode::kBackward ||
                  mode == CompatibilityMode::kBackwardTransitive ||
                  mode == CompatibilityMode::kFull || mode == CompatibilityMode::kFullTransitive;
  bool forward = mode == CompatibilityMode::kForward || mode == CompatibilityMode::kForwardTransitive ||
                 mode == CompatibilityMode::kFull || mode == CompatibilityMode::kFullTransitive;
  size_t first = transitive ? 0 : existing.size() - 1;
  // Newest first, so the most relevant problems lead.
  for (size_t i = existing.size(); i-- > first;) {
    const ExistingVersion& v = existing[i];
    std::string version_label = fmt::format("version {}", v.version);
    if (backward) {
      for (auto& m : ReaderProblems(candidate, *v.schema, "reader", "writer " + version_label)) {
        result.messages.push_back(std::move(m));
      }
    }
    if (forward) {
      for (auto& m : ReaderProblems(*v.schema, candidate, "reader " + version_label, "the new writer schema")) {
        result.messages.push_back(std::move(m));
      }
    }
  }
  result.compatible = result.messages.empty();
  return result;
}

}  // namespace tidemark::schema
