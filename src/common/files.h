// File-system helpers with the durability rules every stage shares: data is fsync'd before
// it is relied on, and a file replaced by rename has its directory fsync'd too.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tidemark {

// Writes contents to path via a temporary file, fsync, rename and directory fsync: after a
// crash the path holds either the old or the new contents, never a mix. `mode` is the new
// file's permission bits (0600 for secrets), subject to the umask.
Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode = 0644);
Result<std::string> ReadFileToString(const std::string& path);
Status FsyncDirectory(const std::string& dir);
// mkdir -p.
Status CreateDirectories(const std::string& dir);
// "open(/data/x): No such file or directory"
Status ErrnoStatus(std::string_view what, int err);

}  // namespace tidemark
