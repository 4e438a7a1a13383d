// PHP's persistent constants are one copy for all PHP threads
// (tools/lib/php-patches/zts/0004-shared-constants.patch): stock ZTS PHP
// copies every one of them (2,400 with compare's extensions) into each
// thread's EG(zend_constants). Real ZTS libphp, real threads. These tests
// hold the patch to what it promises: the same object in every thread, a
// thread's own define() still its own, and a thread's end (which destroys
// its table) leaving the shared constants whole for the others.
#include <doctest/doctest.h>

#include <cstddef>
#include <map>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

extern "C" {
#include <TSRM.h>
#include <main/php.h>
#include <Zend/zend_constants.h>
}

namespace tfpm::sapi {
namespace {

#ifdef ZEND_SHARED_PERSISTENT_CONSTANTS

// A persistent constant the patch shares: its name is interned and its
// value holds no reference count.
bool Shareable(const zend_constant* c) {
  return (ZEND_CONSTANT_FLAGS(c) & CONST_PERSISTENT) && !Z_REFCOUNTED(c->value) &&
         (c->name == nullptr || ZSTR_IS_INTERNED(c->name));
}

// What a thread's table holds for one persistent constant, read while the
// thread is alive (its own copies are freed at its end).
struct Entry {
  const zend_constant* c = nullptr;
  bool shareable = false;
  bool operator==(const Entry&) const = default;
};
// name -> entry, for every persistent constant of a thread's table.
using Table = std::map<std::string, Entry>;

Table PersistentConstants() {
  Table t;
  zend_string* key;
  zval* zv;
  ZEND_HASH_MAP_FOREACH_STR_KEY_VAL(EG(zend_constants), key, zv) {
    const auto* c = static_cast<const zend_constant*>(Z_PTR_P(zv));
    if (key != nullptr && (ZEND_CONSTANT_FLAGS(c) & CONST_PERSISTENT))
      t[std::string(ZSTR_VAL(key), ZSTR_LEN(key))] = {c, Shareable(c)};
  }
  ZEND_HASH_FOREACH_END();
  return t;
}

struct Seen {
  Table table;
  std::string body;
  bool define_left = true;  // the request's define() still in the table after it
};

Seen Run(const std::string& script) {
  Seen s;
  PhpThreadScope scope;
  s.table = PersistentConstants();
  MemoryExchange ex(Base(script));
  ExecuteRequest(ex);
  s.body = ex.Body();
  s.define_left = zend_hash_str_find(EG(zend_constants), "MINE", 4) != nullptr;
  return s;
}

TEST_CASE("every PHP thread's table points at one copy of each persistent constant") {
  const std::string script = Rt().Script("shared-constants.php",
      "<?php define('MINE', getmypid() . '-' . spl_object_id(new stdClass));"
      " echo E_ALL, ' ', PHP_INT_MAX, ' ', PHP_EOL === \"\\n\" ? 'eol' : 'no', ' ', M_PI > 3.14 ? 'pi' : 'no',"
      " ' ', defined('MINE') ? 'mine' : 'none', ' ', PHP_VERSION === phpversion() ? 'v' : 'no';");
  Seen a, b;
  std::thread ta([&] { a = Run(script); });
  std::thread tb([&] { b = Run(script); });
  ta.join();
  tb.join();
  const std::string want = std::to_string(E_ALL) + " " + std::to_string(ZEND_LONG_MAX) + " eol pi mine v";
  CHECK(a.body == want);
  CHECK(b.body == want);
  REQUIRE(a.table.size() > 1000);  // the core's, standard's and the other extensions'
  CHECK(a.table.size() == b.table.size());
  size_t shared = 0;
  std::string copied, wrongly_shared;  // names, for the message
  for (const auto& [name, ea] : a.table) {
    auto it = b.table.find(name);
    REQUIRE(it != b.table.end());
    CHECK(ea.shareable == it->second.shareable);
    if (ea.shareable) {
      shared++;
      if (ea.c != it->second.c) copied += name + " ";
    } else if (ea.c == it->second.c) {
      wrongly_shared += name + " ";
    }
  }
  CHECK_MESSAGE(copied.empty(), "copied per thread: ", copied.substr(0, 400));
  CHECK_MESSAGE(wrongly_shared.empty(), "refcounted, yet shared: ", wrongly_shared.substr(0, 400));
  // E_ALL, PHP_INT_MAX, PHP_VERSION (an interned string): all of them.
  for (const char* name : {"E_ALL", "PHP_INT_MAX", "PHP_VERSION", "M_PI", "TRUE", "NULL"}) {
    REQUIRE(a.table.count(name) == 1);
    CHECK_MESSAGE(a.table[name].c == b.table[name].c, std::string(name));
  }
  CHECK(shared * 10 >= a.table.size() * 9);
  // A request's own define() (seen by it: "mine") is gone at its end.
  CHECK_FALSE(a.define_left);
  CHECK_FALSE(b.define_left);
}

// A thread's end destroys its table (executor_globals_dtor). The shared
// constants must survive it, for threads alive meanwhile and for those
// started after; under AddressSanitizer a constant freed by the first
// thread's end would be a use after free or a double free here.
TEST_CASE("a PHP thread's end leaves the shared constants to the others") {
  const std::string script = Rt().Script("shared-constants-end.php",
      "<?php echo E_WARNING | E_NOTICE, '/', strlen(PHP_OS_FAMILY) > 0 ? 'os' : '', '/', PHP_INT_SIZE;");
  const std::string want = std::to_string(E_WARNING | E_NOTICE) + "/os/8";
  const zend_constant* first = nullptr;
  for (int i = 0; i < 8; i++) {
    Seen s;
    std::thread([&] { s = Run(script); }).join();
    CHECK(s.body == want);
    REQUIRE(s.table.count("E_WARNING") == 1);
    REQUIRE(s.table["E_WARNING"].shareable);
    if (first == nullptr) first = s.table["E_WARNING"].c;
    REQUIRE(s.table["E_WARNING"].c == first);
    // Read after the thread that held it has ended: still the constant.
    CHECK(Z_TYPE(first->value) == IS_LONG);
    CHECK(Z_LVAL(first->value) == E_WARNING);
  }
}

#else

TEST_CASE("libphp shares its persistent constants between threads") {
  FAIL("libphp was built without tools/lib/php-patches/zts/0004-shared-constants.patch");
}

#endif

}  // namespace
}  // namespace tfpm::sapi
