// php.ini and scan directories read by tfpm itself (extensions_by_name):
// hostile bytes, huge lines and files, full directories, FIFOs, unreadable
// files, symlink loops and extension= values must neither crash nor hang
// the worker's MINIT; each limit names what it skipped. Runs against the
// real ZTS libphp (PHP's INI scanner), started once by Rt().
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "sapi/php_ini_deprecations.h"
#include "sapi/php_ini_files.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

// A hang in the reader kills the test binary (SIGALRM's default action), so
// the run fails instead of waiting forever.
struct HangGuard {
  explicit HangGuard(unsigned seconds) { ::alarm(seconds); }
  ~HangGuard() { ::alarm(0); }
};

void ConfigDtor(zval* zv) {
  if (Z_TYPE_P(zv) == IS_ARRAY) {
    zend_hash_destroy(Z_ARRVAL_P(zv));
    free(Z_ARR_P(zv));
  } else if (Z_TYPE_P(zv) == IS_STRING) {
    zend_string_release_ex(Z_STR_P(zv), 1);
  }
}

// A configuration hash like PHP's (persistent), and a scratch directory.
struct IniFixture {
  HashTable hash;
  fs::path dir;
  IniFixture() {
    Rt();  // PHP started: the INI scanner needs its globals
    zend_hash_init(&hash, 8, nullptr, ConfigDtor, 1);
    char tmpl[] = "/tmp/tfpm-ini-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~IniFixture() {
    zend_hash_destroy(&hash);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    fs::path p = dir / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::optional<std::string> Get(const std::string& key) {
    zval* v = zend_hash_str_find(&hash, key.data(), key.size());
    if (v == nullptr || Z_TYPE_P(v) != IS_STRING) return std::nullopt;
    return std::string(Z_STRVAL_P(v), Z_STRLEN_P(v));
  }
  IniFilesRead Read(const std::string& ini, const std::string& scan, const IniReadLimits& limits = {}) {
    HangGuard guard(60);
    return ReadIniFiles(ini, scan, &hash, limits);
  }
};

bool Mentions(const std::vector<std::string>& lines, const std::string& what) {
  for (const std::string& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("ini files: invalid UTF-8 and NUL bytes do not stop the lines around them") {
  IniFixture f;
  std::string text = "good1 = a\n";
  text += "\xff\xfe = 1\n";                               // a key that is no UTF-8
  text += "utf = \"\xc3\x28\xa0\xa1\"\n";                 // a value that is no UTF-8
  text += std::string("nul = \"x\0y\"\n", 12);            // a NUL inside a quoted value
  text += std::string("extension=\"my\0sqli\"\n", 20);    // and inside an extension name
  text += "extension=\xff\xfe.so\n";
  text += "good2 = b\n";
  const std::string ini = f.Write("php.ini", text);
  IniFilesRead r = f.Read(ini, "");
  CHECK(r.opened == ini);
  CHECK(f.Get("good1") == "a");
  CHECK(f.Get("good2") == "b");
  CHECK(f.Get("utf") == std::string("\xc3\x28\xa0\xa1"));
  REQUIRE(r.extensions.size() == 2);
  CHECK(r.extensions[0].line == 5);
  CHECK(r.extensions[1].line == 6);
  // Neither names an extension: skipped, and the log line carries no raw byte.
  ResolvedExtensions x = ResolveExtensions(r.extensions, "/ext", [](const std::string&) { return true; });
  CHECK(x.load.empty());
  REQUIRE(x.skipped.size() == 2);
  for (const std::string& line : x.skipped) {
    CAPTURE(line);
    CHECK(line.find('\0') == std::string::npos);
    CHECK(line.find('\xff') == std::string::npos);
    CHECK(line.find("names no extension") != std::string::npos);
  }
}

TEST_CASE("ini files: a 2 MB line is read; the lines after it keep their numbers") {
  IniFixture f;
  const std::string big(2u << 20, 'a');
  const std::string ini =
      f.Write("php.ini", "big = \"" + big + "\"\n" + std::string(1u << 20, 'b') + "\nafter = 1\nextension=mysqli\n");
  IniFilesRead r = f.Read(ini, "");
  CHECK(r.opened == ini);
  CHECK(f.Get("big") == big);  // PHP reads a long value as it is
  REQUIRE(r.extensions.size() == 1);
  CHECK(r.extensions[0].line == 4);
}

TEST_CASE("ini files: a file larger than php.ini_max_file_size is not read, and says so") {
  IniFixture f;
  // 5 GiB, sparse: reading it would take seconds and gigabytes.
  const std::string huge = (f.dir / "huge.ini").string();
  {
    int fd = ::open(huge.c_str(), O_WRONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t{5} << 30) == 0);
    ::close(fd);
  }
  IniFilesRead r = f.Read(huge, "");
  CHECK(r.opened.empty());
  CHECK(Mentions(r.problems, huge + ": skipped: larger than php.ini_max_file_size (4194304 bytes)"));

  // The limit is the config key's value; a scanned file just under it is read.
  const std::string small = f.Write("conf.d/10-small.ini", "small = 1\n" + std::string(900, ';') + "\n");
  f.Write("conf.d/20-big.ini", "big = 1\n" + std::string(1100, ';') + "\n");
  IniReadLimits limits;
  limits.max_file_bytes = 1024;
  IniFilesRead s = f.Read("", (f.dir / "conf.d").string(), limits);
  CHECK(s.scanned == std::vector<std::string>{small});
  CHECK(f.Get("small") == "1");
  CHECK_FALSE(f.Get("big").has_value());
  CHECK(Mentions(s.problems, "20-big.ini: skipped: larger than php.ini_max_file_size (1024 bytes)"));
}

TEST_CASE("ini files: a directory with 3000 files: the first php.ini_max_files in name order, the rest named") {
  IniFixture f;
  const fs::path conf = f.dir / "conf.d";
  fs::create_directories(conf);
  for (int i = 2999; i >= 0; --i) {  // created in reverse: the order is the names'
    std::string name = std::to_string(i);
    name = std::string(4 - name.size(), '0') + name + ".ini";
    std::ofstream(conf / name) << "k" << i << " = " << i << "\n";
  }
  IniReadLimits limits;
  limits.max_files = 100;
  IniFilesRead r = f.Read("", conf.string(), limits);
  REQUIRE(r.scanned.size() == 100);
  CHECK(r.scanned.front() == (conf / "0000.ini").string());
  CHECK(r.scanned.back() == (conf / "0099.ini").string());
  CHECK(f.Get("k99") == "99");
  CHECK_FALSE(f.Get("k100").has_value());
  CHECK(Mentions(r.problems, "2900 *.ini file(s) not read: more than php.ini_max_files (100)"));
  // The limit counts all directories together.
  IniFixture g;
  const std::string a = g.Write("a/1.ini", "a = 1\n"), b = g.Write("b/1.ini", "b = 1\n");
  limits.max_files = 1;
  IniFilesRead two = g.Read("", (g.dir / "a").string() + ":" + (g.dir / "b").string(), limits);
  CHECK(two.scanned == std::vector<std::string>{a});
  CHECK(Mentions(two.problems, "1 *.ini file(s) not read"));
}

TEST_CASE("ini files: FIFOs, directories, unreadable files and symlink loops are skipped without a hang") {
  IniFixture f;
  const fs::path conf = f.dir / "conf.d";
  fs::create_directories(conf / "dir.ini");
  REQUIRE(::mkfifo((conf / "10-fifo.ini").c_str(), 0644) == 0);  // no writer: an open without O_NONBLOCK blocks
  fs::create_symlink(conf / "21-loop.ini", conf / "20-loop.ini");
  fs::create_symlink(conf / "20-loop.ini", conf / "21-loop.ini");
  fs::create_symlink("/proc/self/mem", conf / "30-mem.ini");  // opens, then read() fails (EIO), even for root
  const std::string ok = f.Write("conf.d/40-ok.ini", "ok = 1\n");
  fs::create_symlink(f.dir / "loopdir", f.dir / "loopdir");  // a scan directory that is a loop itself
  IniFilesRead r = f.Read((conf / "10-fifo.ini").string(), conf.string() + ":" + (f.dir / "loopdir").string());
  CHECK(r.opened.empty());  // a FIFO is no php.ini
  CHECK(r.scanned == std::vector<std::string>{ok});
  CHECK(f.Get("ok") == "1");
  CHECK(Mentions(r.problems, "20-loop.ini: skipped: Too many levels of symbolic links"));
  CHECK(Mentions(r.problems, "30-mem.ini: skipped: Input/output error"));
  CHECK(Mentions(r.problems, "loopdir: Too many levels of symbolic links: skipped"));
  CHECK_FALSE(Mentions(r.problems, "fifo"));  // PHP skips what is not a regular file without a word
  CHECK_FALSE(Mentions(r.problems, "dir.ini"));
  // A php.ini or scan directory that does not exist is not a problem (as PHP).
  IniFilesRead none = f.Read((f.dir / "absent.ini").string(), (f.dir / "absent.d").string());
  CHECK(none.problems.empty());
  CHECK(none.opened.empty());
}

TEST_CASE("extension= values: paths, '..', empty, huge and duplicate names stay inside our extension directory") {
  std::vector<RequestedExtension> lines;
  for (const char* v : {"/usr/lib/php/20220829/mysqli.so", "MySQLi", "mysqli.so", "../../../../etc/passwd", "..",
                        "x/..", "/opt/x/", "", ".so", "pdo_mysql", "/tmp/../opcache.so"}) {
    lines.push_back(RequestedExtension{v, false, "/etc/php.ini", 7});
  }
  lines.push_back(RequestedExtension{std::string(100000, 'a'), false, "/etc/php.ini", 8});
  lines.push_back(RequestedExtension{std::string("a\0b", 3), true, "/etc/php.ini", 9});
  std::vector<std::string> asked;
  ResolvedExtensions r = ResolveExtensions(lines, "/ext", [&](const std::string& path) {
    asked.push_back(path);
    return path != "/ext/passwd.so";
  });
  for (const std::string& p : asked) {
    CAPTURE(p);
    CHECK(p.rfind("/ext/", 0) == 0);
    CHECK(p.find('/', 5) == std::string::npos);
    CHECK(p.find("..") == std::string::npos);
    CHECK(p.size() < 80);
  }
  std::vector<std::string> loaded;
  for (const RequestedExtension& e : r.load) loaded.push_back(e.value);
  CHECK(loaded == std::vector<std::string>{"/ext/mysqli.so", "/ext/pdo_mysql.so", "/ext/opcache.so"});
  REQUIRE(r.maybe_builtin.size() == 1);
  CHECK(r.maybe_builtin[0].value == "../../../../etc/passwd");  // then "no extension 'passwd'" after MINIT
  REQUIRE(r.skipped.size() == 7);  // "..", "x/..", "/opt/x/", "", ".so", the huge one, "a\0b"
  for (const std::string& line : r.skipped) {
    CAPTURE(line);
    CHECK(line.size() < 400);  // the huge name is cut for the log
    CHECK(line.find('\0') == std::string::npos);
  }
}

TEST_CASE("extension= lines: 200000 distinct names resolve in linear time") {
  std::vector<RequestedExtension> lines;
  for (int i = 0; i < 200000; ++i) lines.push_back(RequestedExtension{"e" + std::to_string(i), false, "f", i});
  HangGuard guard(60);  // the old lookup compared each name with every earlier one
  ResolvedExtensions r = ResolveExtensions(lines, "/ext", [](const std::string&) { return false; });
  CHECK(r.maybe_builtin.size() == 200000);
}

TEST_CASE("PHP 8.3/8.4 deprecations: the values PHP 8.4.24 warns about, none for the harmless ones") {
  CHECK(IniDeprecation("session.sid_length", "26").has_value());
  CHECK_FALSE(IniDeprecation("session.sid_length", "32").has_value());
  CHECK(IniDeprecation("session.sid_bits_per_character", "5").has_value());
  CHECK_FALSE(IniDeprecation("session.sid_bits_per_character", "4").has_value());
  CHECK(IniDeprecation("session.use_only_cookies", "").has_value());  // Off
  CHECK_FALSE(IniDeprecation("session.use_only_cookies", "1").has_value());
  CHECK(IniDeprecation("session.use_trans_sid", "on").has_value());
  CHECK_FALSE(IniDeprecation("session.use_trans_sid", "0").has_value());
  CHECK_FALSE(IniDeprecation("session.referer_check", "").has_value());
  CHECK(IniDeprecation("session.referer_check", "example.org").has_value());
  CHECK_FALSE(IniDeprecation("session.trans_sid_tags", "a=href,area=href,frame=src,form=").has_value());
  CHECK(IniDeprecation("session.trans_sid_tags", "a=href").has_value());
  CHECK(IniDeprecation("assert.active", "").has_value());
  CHECK_FALSE(IniDeprecation("assert.active", "1").has_value());
  CHECK(IniDeprecation("assert.bail", "1").has_value());
  CHECK(IniDeprecation("assert.callback", "f").has_value());
  CHECK(IniDeprecation("assert.exception", "0").has_value());
  CHECK(IniDeprecation("assert.warning", "").has_value());
  CHECK(IniDeprecation("opcache.consistency_checks", "0").has_value());  // gone: any value
  CHECK_FALSE(IniDeprecation("memory_limit", "128M").has_value());
  CHECK_FALSE(IniDeprecation("Session.Sid_Length", "26").has_value());  // not the name PHP looks up
  CHECK(IniDeprecation("session.sid_length", "26")->find("PHP 8.4") != std::string::npos);
  CHECK(IniDeprecation("assert.active", "0")->find("PHP 8.3") != std::string::npos);
  CHECK(DeprecatedKeyInMessage("PHP Startup: session.sid_length INI setting is deprecated") == "session.sid_length");
  CHECK(DeprecatedKeyInMessage("Disabling session.use_only_cookies INI setting is deprecated") ==
        "session.use_only_cookies");
  CHECK(DeprecatedKeyInMessage("Directive 'allow_url_include' is deprecated").empty());
}

TEST_CASE("PHP 8.3/8.4 deprecations: named with file and line, in file order, from php.ini and conf.d") {
  IniFixture f;
  const std::string ini = f.Write("php.ini",
                                  "[Session]\n"
                                  "session.use_only_cookies = 1\n"
                                  "session.sid_length = 26\n"
                                  "; session.sid_length = 40\n"
                                  "session.sid_bits_per_character = 5\n");
  const std::string conf =
      f.Write("conf.d/10-opcache.ini", "zend_extension=opcache.so\nopcache.consistency_checks=0\n");
  IniFilesRead r = f.Read(ini, (f.dir / "conf.d").string());
  const std::vector<std::string> lines = IniDeprecationLines(r.watched);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("php.ini " + ini + ":3: session.sid_length = 26: deprecated in PHP 8.4", 0) == 0);
  CHECK(lines[1].rfind("php.ini " + ini + ":5: session.sid_bits_per_character = 5: deprecated in PHP 8.4", 0) == 0);
  CHECK(lines[2].rfind("php.ini " + conf + ":2: opcache.consistency_checks = 0: removed in PHP 8.3", 0) == 0);
  CHECK(f.Get("session.sid_length") == "26");  // still applied: a notice, not an error
}

}  // namespace
}  // namespace tfpm::sapi
