// The worker's notify socket (ipc/worker_process.h kNotifyFd, a SOCK_STREAM
// socketpair): what the supervisor and a worker say to each other over it.
// Both sides encode and decode through this header only.
//
// Two kinds of bytes share the stream:
//  - text lines, worker -> supervisor, each ending in "\n" (Message);
//  - descriptors (SCM_RIGHTS, os::SendFd), each sent with one tag byte that
//    says what it is (Tag). The kernel ends a receive at a message that
//    carries descriptors, so a receive that returned descriptors ends with
//    their tag byte (SplitReceived); everything before it is text.
//
// Bytes from a worker are hostile (it runs PHP): a line that is not one of
// the messages, or that runs past kMaxLineBytes without "\n", decodes to an
// error, never to a guess.
//
// Recycling: a worker that wants to be replaced (process_max_requests or
// process_memory_limit, worker/process_recycler.h) sends kRecycle*. It
// keeps serving; the supervisor starts a replacement in its slot and drains
// it (SIGQUIT) once the replacement is ready, so no request is refused or
// cut. The worker repeats the message every second until it drains; the
// supervisor ignores repeats, and defers the request (retrying it itself)
// while another process of the pool is being replaced, during a reload or
// at process_max.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tfpm::ipc {

// Text messages, worker -> supervisor.
enum class Message {
  kReady,               // "ready": MINIT done, threads started; may take connections
  kDraining,            // "draining": accepts no more connections (SIGQUIT seen)
  kRecycleMaxRequests,  // "recycle max_requests": replace me (process_max_requests)
  kRecycleMemory,       // "recycle memory": replace me (process_memory_limit)
};

// The line of `m`, with its "\n".
std::string Encode(Message m);
// One line without its "\n": the message, or an error naming the bytes
// (shown escaped, at most 64 of them).
Result<Message> DecodeLine(std::string_view line);
// The cause of a recycle message ("max_requests", "memory"); "" for others.
std::string_view RecycleCauseName(Message m);
// Every cause RecycleCauseName gives.
inline constexpr std::string_view kRecycleCauses[] = {"max_requests", "memory"};

// The longest line of the contract is "recycle max_requests"; anything
// longer without "\n" is garbage.
inline constexpr size_t kMaxLineBytes = 64;

// Reassembles lines from a stream that may split them anywhere (one
// reader per socket). Not thread-safe.
class MessageReader {
 public:
  // Decodes the whole lines completed by `bytes`, in order; a partial line
  // is kept for the next call. A line over kMaxLineBytes yields one error,
  // and its bytes are dropped up to its "\n".
  std::vector<Result<Message>> Feed(std::string_view bytes);

 private:
  std::string partial_;
  bool overlong_ = false;  // dropping bytes until the next "\n"
};

// Tags of descriptors.
enum class Tag : char {
  kConnection = 'c',   // a kept FastCGI connection (both directions)
  kStatus = 's',       // worker -> supervisor: status query (reply socket)
  kStatusFull = 'S',   // the same, ?full
  kStatusReply = 'r',  // supervisor -> worker: the status JSON (memfd)
  kErrorLog = 'E',     // supervisor -> worker: reopened error_log file (for kLogFd)
  kAccessLog = 'A',    // supervisor -> worker: reopened access_log (for kAccessLogFd)
  kSlowlog = 'W',      // supervisor -> worker: reopened slowlog (for kSlowlogFd)
};
constexpr char Encode(Tag t) { return static_cast<char>(t); }
// The tag of a byte, or an error for any other byte.
Result<Tag> DecodeTag(char byte);

// The tags as bytes, for os::SendFd.
inline constexpr char kTagConnection = Encode(Tag::kConnection);
inline constexpr char kTagStatus = Encode(Tag::kStatus);
inline constexpr char kTagStatusFull = Encode(Tag::kStatusFull);
inline constexpr char kTagStatusReply = Encode(Tag::kStatusReply);
inline constexpr char kTagErrorLog = Encode(Tag::kErrorLog);
inline constexpr char kTagAccessLog = Encode(Tag::kAccessLog);
inline constexpr char kTagSlowlog = Encode(Tag::kSlowlog);

// One receive split into its text and the tag byte of its descriptors:
// with descriptors, the last byte is their tag (nullopt when the receive
// carried descriptors but no byte); without, every byte is text.
struct Received {
  std::string_view text;
  std::optional<char> tag;
};
Received SplitReceived(std::string_view data, bool has_fds);

}  // namespace tfpm::ipc
