// Checkpoint files: one per task at data/state/<topic>/<partition>/checkpoint, holding the
// next input offset and the operators' state together, replaced atomically
// (WriteFileAtomic) so that after a crash the file is either the previous or the new
// checkpoint — state and offset always match. A CRC32C trailer catches damage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidemark::stream {

struct Checkpoint {
  int64_t next_offset = 0;
  int64_t written_at_ms = 0;
  std::string state;
};

std::string CheckpointDir(const std::string& data_dir, std::string_view topic, int partition);
Status WriteCheckpoint(const std::string& dir, const Checkpoint& checkpoint);
// nullopt when the task has never checkpointed; Corruption when the file is damaged.
Result<std::optional<Checkpoint>> ReadCheckpoint(const std::string& dir);

}  // namespace tidemark::stream
