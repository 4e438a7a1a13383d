#pragma once
// The php.ini text tfpm uses when the config names none (conf/php.ini,
// compiled in so a tfpm binary never depends on where its source tree was).
#include <string_view>

namespace tfpm::config {

std::string_view BuiltinPhpIni();

}  // namespace tfpm::config
