#include "fastcgi/params.h"

#include <cassert>
#include <cstring>

#include "fastcgi/protocol.h"

namespace tfpm::fastcgi {

namespace {

// Reads one length at stream[*pos], advancing *pos. False if truncated.
bool ReadLength(std::string_view stream, size_t* pos, size_t* length) {
  const auto* p = reinterpret_cast<const uint8_t*>(stream.data()) + *pos;
  const size_t left = stream.size() - *pos;
  if (left < 1) return false;
  if ((p[0] & 0x80) == 0) {
    *length = p[0];
    *pos += 1;
    return true;
  }
  if (left < 4) return false;
  *length = DecodeU32BE(p) & 0x7fffffffu;
  *pos += 4;
  return true;
}

size_t EncodeLength(size_t length, uint8_t* out) {
  if (length < 128) {
    out[0] = static_cast<uint8_t>(length);
    return 1;
  }
  EncodeU32BE(static_cast<uint32_t>(length) | 0x80000000u, out);
  return 4;
}

}  // namespace

namespace {

// The one decoder: calls emit(name, value) per pair, views into `stream`.
template <typename Emit>
Status Decode(std::string_view stream, size_t max_pairs, Emit&& emit) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(stream.data());
  size_t pos = 0;
  size_t pairs = 0;
  while (pos < stream.size()) {
    if (pairs == max_pairs) {
      return Status::InvalidArgument("FastCGI params: more than " + std::to_string(max_pairs) + " pairs");
    }
    const size_t start = pos;
    size_t name_length = 0;
    size_t value_length = 0;
    if (stream.size() - pos >= 2 && ((bytes[pos] | bytes[pos + 1]) & 0x80) == 0) {
      // Both lengths short: the common case (a CGI name, a short value).
      name_length = bytes[pos];
      value_length = bytes[pos + 1];
      pos += 2;
    } else if (!ReadLength(stream, &pos, &name_length) || !ReadLength(stream, &pos, &value_length)) {
      return Status::Protocol("FastCGI params: truncated length at byte " + std::to_string(start) +
                              " of " + std::to_string(stream.size()));
    }
    const size_t left = stream.size() - pos;
    if (name_length > left || value_length > left - name_length) {
      return Status::Protocol("FastCGI params: pair at byte " + std::to_string(start) +
                              " claims " + std::to_string(name_length) + "+" +
                              std::to_string(value_length) + " bytes, " + std::to_string(left) +
                              " left in stream");
    }
    emit(stream.substr(pos, name_length), stream.substr(pos + name_length, value_length));
    ++pairs;
    pos += name_length + value_length;
  }
  return Status::Ok();
}

}  // namespace

Status DecodeParams(std::string_view stream, std::vector<Param>* out, size_t max_pairs) {
  out->clear();
  return Decode(stream, max_pairs, [out](std::string_view n, std::string_view v) { out->emplace_back(n, v); });
}

namespace {

// memmove(src - 1, src, n), inline for names up to 32 bytes (nearly every
// CGI name): every word is loaded before any is stored, so the overlap is
// harmless. A memmove call per pair cost about 20 instructions more.
inline void MoveLeftOne(char* src, size_t n) {
  char* const dst = src - 1;
  const auto load8 = [](const char* at) {
    uint64_t v;
    std::memcpy(&v, at, sizeof v);
    return v;
  };
  const auto store8 = [](char* at, uint64_t v) { std::memcpy(at, &v, sizeof v); };
  if (n >= 8 && n <= 16) {
    const uint64_t a = load8(src), b = load8(src + n - 8);
    store8(dst, a);
    store8(dst + n - 8, b);
  } else if (n > 16 && n <= 32) {
    const uint64_t a = load8(src), b = load8(src + 8), c = load8(src + n - 16), d = load8(src + n - 8);
    store8(dst, a);
    store8(dst + 8, b);
    store8(dst + n - 16, c);
    store8(dst + n - 8, d);
  } else if (n > 32) {
    std::memmove(dst, src, n);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];  // forward: dst is before src
  }
}

}  // namespace

Status DecodeParamsInPlace(std::span<char> buffer, std::vector<Param>* out, size_t max_pairs) {
  assert(!buffer.empty());
  const std::string_view stream(buffer.data(), buffer.size() - 1);
  // The end of the last pair's value: its NUL is written when the next
  // pair is emitted (Decode has then read that pair's lengths), or at the end.
  char* pending = nullptr;
  Status st = Decode(stream, max_pairs, [&](std::string_view n, std::string_view v) {
    if (pending != nullptr) *pending = '\0';
    // Each pair's length prefix is 2 bytes or more, all read by now: the
    // name moves into its last byte and its NUL takes the name's last.
    char* const name = const_cast<char*>(n.data()) - 1;
    MoveLeftOne(name + 1, n.size());
    name[n.size()] = '\0';
    pending = const_cast<char*>(v.data()) + v.size();
    out->emplace_back(std::string_view(name, n.size()), v);
  });
  if (pending != nullptr) *pending = '\0';
  return st;
}

size_t EncodeParamLengths(size_t name_length, size_t value_length, uint8_t* out8) {
  assert(name_length <= kMaxParamLength && value_length <= kMaxParamLength);
  const size_t n = EncodeLength(name_length, out8);
  return n + EncodeLength(value_length, out8 + n);
}

void AppendParam(std::string_view name, std::string_view value, std::string* out) {
  uint8_t lengths[8];
  const size_t n = EncodeParamLengths(name.size(), value.size(), lengths);
  out->append(reinterpret_cast<const char*>(lengths), n);
  out->append(name);
  out->append(value);
}

}  // namespace tfpm::fastcgi
