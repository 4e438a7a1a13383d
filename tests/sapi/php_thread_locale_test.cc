// A PHP thread knows the process's locale as MINIT recorded it on the main
// thread (CG(ascii_compatible_locale), per thread in ZTS), so basename()
// and pathinfo() take the same path as in php-fpm's children. Real ZTS
// libphp, a real thread.
#include <doctest/doctest.h>

#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

extern "C" {
#include <main/php.h>
}

namespace tfpm::sapi {
namespace {

TEST_CASE("a PHP thread's locale flags are the main thread's") {
  const std::string script = Rt().Script("locale.php", "<?php echo basename('/srv/www/Ünïcode.php', '.php');");
  // What MINIT recorded on the main thread (the runtime started there).
  const bool main_ascii = CG(ascii_compatible_locale);
  const bool main_variable = CG(variable_width_locale);
  bool ascii = !main_ascii, variable = !main_variable;
  std::string body;
  std::thread([&] {
    PhpThreadScope scope;
    ascii = CG(ascii_compatible_locale);
    variable = CG(variable_width_locale);
    MemoryExchange ex(Base(script));
    ExecuteRequest(ex);
    body = ex.Body();
  }).join();
  CHECK(ascii == main_ascii);
  CHECK(variable == main_variable);
  CHECK(body == "Ünïcode");
}

}  // namespace
}  // namespace tfpm::sapi
