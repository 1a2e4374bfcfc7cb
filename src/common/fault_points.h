// Named fault points (after RocksDB's SyncPoint): code asks FaultArmed("log.fsync_fails")
// at the spot where a failure can be injected; tests arm points in-process, end-to-end tests
// through the TIDEMARK_FAULTS environment variable (comma-separated names). Unarmed points
// cost one relaxed atomic load. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tidemark {

bool FaultArmed(std::string_view name);
void ArmFault(std::string name);
void DisarmFault(std::string_view name);
void DisarmAllFaults();

}  // namespace tidemark
