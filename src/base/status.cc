#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace tfpm {

Status ErrnoStatus(std::string_view context, int error_number) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(error_number);
  if (error_number == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

}  // namespace tfpm
