// FastCGI 1.0 wire constants and the 8-byte record header.
//
// Names and values follow the FastCGI specification (fastcgi_spec, §8):
// FCGI_BEGIN_REQUEST is RecordType::kBeginRequest, FCGI_KEEP_CONN is
// kFlagKeepConn, and so on. Pure: no I/O, header-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tfpm::fastcgi {

inline constexpr uint8_t kVersion1 = 1;            // FCGI_VERSION_1
inline constexpr size_t kHeaderLength = 8;         // FCGI_HEADER_LEN
inline constexpr size_t kMaxContentLength = 65535;  // contentLength is a uint16
inline constexpr uint16_t kNullRequestId = 0;      // FCGI_NULL_REQUEST_ID
inline constexpr uint8_t kFlagKeepConn = 1;        // FCGI_KEEP_CONN

// Record types. The underlying uint8_t holds any value, so a type this enum
// does not name (e.g. static_cast<RecordType>(42)) is still representable and
// round-trips through EncodeHeader/DecodeHeader.
enum class RecordType : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
  kData = 8,
  kGetValues = 9,
  kGetValuesResult = 10,
  kUnknownType = 11,
};
inline constexpr uint8_t kMaxKnownType = 11;  // FCGI_MAXTYPE

// BEGIN_REQUEST roles. Like RecordType, any uint16_t value is representable.
enum class Role : uint16_t { kResponder = 1, kAuthorizer = 2, kFilter = 3 };

// END_REQUEST protocolStatus values.
enum class ProtocolStatus : uint8_t {
  kRequestComplete = 0,
  kCantMpxConn = 1,
  kOverloaded = 2,
  kUnknownRole = 3,
};

// Variable names a GET_VALUES query may ask about (spec §4.1).
inline constexpr std::string_view kMaxConns = "FCGI_MAX_CONNS";
inline constexpr std::string_view kMaxReqs = "FCGI_MAX_REQS";
inline constexpr std::string_view kMpxsConns = "FCGI_MPXS_CONNS";

// The fixed 8-byte prefix of every record (the reserved byte is not kept;
// EncodeHeader writes it as zero).
struct RecordHeader {
  uint8_t version = kVersion1;
  RecordType type = RecordType::kUnknownType;
  uint16_t request_id = kNullRequestId;
  uint16_t content_length = 0;
  uint8_t padding_length = 0;
};

// Writes `v` big-endian to out[0..1].
inline void EncodeU16BE(uint16_t v, uint8_t* out) {
  out[0] = static_cast<uint8_t>(v >> 8);
  out[1] = static_cast<uint8_t>(v);
}

// Reads a big-endian uint16 from in[0..1].
inline uint16_t DecodeU16BE(const uint8_t* in) {
  return static_cast<uint16_t>((in[0] << 8) | in[1]);
}

// Writes `v` big-endian to out[0..3].
inline void EncodeU32BE(uint32_t v, uint8_t* out) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}

// Reads a big-endian uint32 from in[0..3].
inline uint32_t DecodeU32BE(const uint8_t* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) |
         uint32_t{in[3]};
}

// Writes exactly kHeaderLength bytes to out8; the reserved byte is zero.
// No field is validated: what is given is what is written.
inline void EncodeHeader(const RecordHeader& header, uint8_t* out8) {
  out8[0] = header.version;
  out8[1] = static_cast<uint8_t>(header.type);
  EncodeU16BE(header.request_id, out8 + 2);
  EncodeU16BE(header.content_length, out8 + 4);
  out8[6] = header.padding_length;
  out8[7] = 0;
}

// Reads exactly kHeaderLength bytes from in8. No field is validated (the
// version and type are returned as found); the reserved byte is ignored.
inline RecordHeader DecodeHeader(const uint8_t* in8) {
  RecordHeader header;
  header.version = in8[0];
  header.type = static_cast<RecordType>(in8[1]);
  header.request_id = DecodeU16BE(in8 + 2);
  header.content_length = DecodeU16BE(in8 + 4);
  header.padding_length = in8[6];
  return header;
}

}  // namespace tfpm::fastcgi
