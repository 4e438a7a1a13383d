#include "supervisor/output_lines.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tfpm::supervisor {
namespace {

struct Collect {
  std::vector<std::string> lines;
  OutputLines::Sink sink() {
    return [this](std::string_view s) { lines.emplace_back(s); };
  }
};

TEST_CASE("lines are logged as their newline arrives, whatever the splits") {
  OutputLines out;
  Collect c;
  CHECK(out.Feed("one\ntw", 100, c.sink()) == 0);
  CHECK(c.lines == std::vector<std::string>{"one"});
  CHECK(out.pending() == 2);
  CHECK(out.Feed("o\n\nthree", 100, c.sink()) == 0);
  CHECK(c.lines == std::vector<std::string>{"one", "two", ""});
  out.Finish(c.sink());
  CHECK(c.lines == std::vector<std::string>{"one", "two", "", "three"});
  CHECK(out.pending() == 0);
}

TEST_CASE("a long line is wrapped into pieces of room bytes, counted once") {
  OutputLines out;
  Collect c;
  CHECK(out.Feed(std::string(10, 'a') + "\n", 4, c.sink()) == 1);
  CHECK(c.lines == std::vector<std::string>{"aaaa", "aaaa", "aa"});
  c.lines.clear();
  // Exactly room bytes: one line, no empty piece.
  CHECK(out.Feed("bbbb\n", 4, c.sink()) == 0);
  CHECK(c.lines == std::vector<std::string>{"bbbb"});
  c.lines.clear();
  CHECK(out.Feed("cccccccc\n", 4, c.sink()) == 1);
  CHECK(c.lines == std::vector<std::string>{"cccc", "cccc"});
}

TEST_CASE("a line without a newline is logged as it grows and never held whole") {
  OutputLines out;
  Collect c;
  size_t cuts = 0;
  // 1 MiB in 1000-byte writes, room 100: memory stays at room bytes.
  for (int i = 0; i < 1024 * 1024 / 1000; ++i) {
    cuts += out.Feed(std::string(1000, 'x'), 100, c.sink());
    CHECK(out.pending() <= 100);
  }
  CHECK(cuts == 1);  // one line, cut once
  size_t total = 0;
  for (const auto& l : c.lines) {
    CHECK(l.size() == 100);
    total += l.size();
  }
  CHECK(total + out.pending() == 1048000);
  out.Feed("y\nz", 100, c.sink());
  CHECK(c.lines.back().back() == 'y');
  CHECK(out.pending() == 1);
}

TEST_CASE("the same pieces whether the bytes come at once or one by one") {
  const std::string text = "short\n" + std::string(25, 'L') + "\n\n" + std::string(7, 'M') + "\nend";
  OutputLines whole, bytewise;
  Collect a, b;
  size_t cuts_a = whole.Feed(text, 6, a.sink());
  size_t cuts_b = 0;
  for (char ch : text) cuts_b += bytewise.Feed(std::string_view(&ch, 1), 6, b.sink());
  whole.Finish(a.sink());
  bytewise.Finish(b.sink());
  CHECK(a.lines == b.lines);
  CHECK(cuts_a == 2);
  CHECK(cuts_b == 2);
  CHECK(a.lines == std::vector<std::string>{"short", "LLLLLL", "LLLLLL", "LLLLLL", "LLLLLL", "L", "",
                                            "MMMMMM", "M", "end"});
}

}  // namespace
}  // namespace tfpm::supervisor
