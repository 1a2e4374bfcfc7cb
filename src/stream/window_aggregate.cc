#include "stream/window_aggregate.h"

#include <algorithm>

#include "stream/byte_io_internal.h"

namespace tidemark::stream {

QuantileSketch& WindowAggregate::Prop(std::string_view name) {
  for (auto& [n, sketch] : props) {
    if (n == name) return sketch;
  }
  props.emplace_back(std::string(name), QuantileSketch());
  return props.back().second;
}

const QuantileSketch* WindowAggregate::FindProp(std::string_view name) const {
  for (const auto& [n, sketch] : props) {
    if (n == name) return &sketch;
  }
  return nullptr;
}

void WindowAggregate::Merge(const WindowAggregate& o) {
  events += o.events;
  sessions += o.sessions;
  late += o.late;
  dlq += o.dlq;
  users.Merge(o.users);
  for (const auto& [name, sketch] : o.props) Prop(name).Merge(sketch);
}

size_t WindowAggregate::MemoryBytes() const {
  size_t n = sizeof(*this) + users.MemoryBytes();
  for (const auto& [name, sketch] : props) n += sizeof(props[0]) + name.capacity() + sketch.MemoryBytes();
  return n;
}

void WindowAggregate::AppendTo(std::string* out) const {
  internal::ByteWriter w(out);
  w.Var(events);
  w.Var(sessions);
  w.Var(late);
  w.Var(dlq);
  users.AppendTo(out);
  w.Var(props.size());
  for (const auto& [name, sketch] : props) {
    w.Str(name);
    sketch.AppendTo(out);
  }
}

bool WindowAggregate::ReadFrom(std::string_view* in, WindowAggregate* out) {
  *out = WindowAggregate();
  internal::ByteReader r(*in);
  if (!r.Var(&out->events) || !r.Var(&out->sessions) || !r.Var(&out->late) || !r.Var(&out->dlq)) {
    return false;
  }
  std::string_view rest = in->substr(in->size() - r.remaining());
  if (!HyperLogLog::ReadFrom(&rest, &out->users)) return false;
  internal::ByteReader r2(rest);
  uint64_t n;
  if (!r2.Var(&n) || n > 1024) return false;
  rest = rest.substr(rest.size() - r2.remaining());
  for (uint64_t i = 0; i < n; ++i) {
    internal::ByteReader r3(rest);
    std::string name;
    if (!r3.Str(&name)) return false;
    rest = rest.substr(rest.size() - r3.remaining());
    QuantileSketch sketch;
    if (!QuantileSketch::ReadFrom(&rest, &sketch)) return false;
    out->props.emplace_back(std::move(name), std::move(sketch));
  }
  *in = rest;
  return true;
}

bool WindowAggregate::operator==(const WindowAggregate& o) const {
  if (events != o.events || sessions != o.sessions || late != o.late || dlq != o.dlq) return false;
  if (!(users == o.users) || props.size() != o.props.size()) return false;
  for (const auto& [name, sketch] : props) {
    const QuantileSketch* other = o.FindProp(name);
    if (!other || !(*other == sketch)) return false;
  }
  return true;
}

void AppendDim(std::string* key, std::string_view name, std::string_view value) {
  if (!key->empty()) key->push_back(kDimSeparator);
  key->append(name);
  key->push_back('=');
  size_t start = key->size();
  key->append(value);
  // The separator cannot appear inside a value. Values almost never hold one: look with
  // memchr first rather than rewrite every byte on every event.
  if (value.find(kDimSeparator) != std::string_view::npos) {
    std::replace(key->begin() + static_cast<std::ptrdiff_t>(start), key->end(), kDimSeparator, '?');
  }
}

bool FindDim(std::string_view key, std::string_view name, std::string_view* value) {
  while (!key.empty()) {
    size_t end = key.find(kDimSeparator);
    std::string_view part = key.substr(0, end);
    if (part.size() > name.size() && part[name.size()] == '=' && part.substr(0, name.size()) == name) {
      *value = part.substr(name.size() + 1);
      return true;
    }
    if (end == std::string_view::npos) break;
    key.remove_prefix(end + 1);
  }
  return false;
}

}  // namespace tidemark::stream
