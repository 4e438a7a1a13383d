// What a path names, as stat(2) sees it (links followed): for checks that
// refuse a config before anything starts (a chroot must be a directory, a
// php.ini a file).
#pragma once

#include <string>

#include "base/status.h"

namespace tfpm::os {

enum class FileType { kRegular, kDirectory, kOther };

// The type of what `path` names. Errors as a Status whose message is
// "<path>: <strerror>": NotFound for ENOENT (nothing there, the parent
// directory exists or not), IoError for the rest (EACCES, ELOOP...).
Result<FileType> TypeOf(const std::string& path);

// Shorthands: false on any error.
bool IsDirectory(const std::string& path);
bool IsRegularFile(const std::string& path);

}  // namespace tfpm::os
