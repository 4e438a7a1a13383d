// glob(3) behind the os boundary, for php-fpm's `include = pool.d/*.conf`.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

// The paths matching `pattern`, sorted, directories marked with a trailing
// '/' (GLOB_MARK). No match is an empty vector, not an error; a read error
// while matching is (GLOB_ERR).
Result<std::vector<std::string>> Glob(const std::string& pattern);

}  // namespace tfpm::os
