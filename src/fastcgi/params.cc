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

Status DecodeParamsTerminated(std::string_view stream, std::span<char> store, std::vector<Param>* out,
                              size_t* used, size_t max_pairs) {
  assert(store.size() >= stream.size());
  char* const begin = store.data();
  char* at = begin;
  // Copies one string and its NUL; returns where the string now is.
  auto put = [&at](std::string_view s) {
    char* const start = at;
    std::memcpy(at, s.data(), s.size());
    at += s.size();
    *at++ = '\0';
    return std::string_view(start, s.size());
  };
  Status st = Decode(stream, max_pairs, [&](std::string_view n, std::string_view v) {
    const std::string_view name = put(n);
    out->emplace_back(name, put(v));
  });
  *used = static_cast<size_t>(at - begin);
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
