// php-fpm's configuration files read into a Document: [sections], name =
// value and name[key] = value lines, include globs (depth-limited), and
// the comment blocks kept for pm-ctl import-fpm. Each value goes through
// ParseValue (fpm_ini_value.cc).
#include "config/fpm_ini.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

#include "config/fpm_values.h"
#include "os/file_glob.h"
#include "os/shared_memory.h"

namespace tfpm::config::fpm {
namespace {

// php-fpm: "failed to include more than 5 files recursively".
constexpr int kMaxIncludeDepth = 5;
// Comments kept for pm-ctl import-fpm: at most this many lines above one
// line, and this many blocks in all (Debian's files hold ~90 blocks); the
// rest are dropped, never an error.
constexpr size_t kMaxCommentLines = 200;
constexpr size_t kMaxCommentBlocks = 10000;
// php-fpm's compiled-in prefix on Debian (PHP_PREFIX).
constexpr std::string_view kDefaultPrefix = "/usr";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct Parser {
  Files& files;
  const ParseOptions& options;
  const char* (*getenv)(const char*);
  Document doc;
  int current_pool = -1;  // index into doc.pools; -1 = [global]
  int depth = 0;
  std::vector<std::string> pending_comments = {};  // ';' lines since the last blank or non-comment line

  std::string Resolve(const std::string& path) const {
    if (!path.empty() && path.front() == '/') return path;
    std::string prefix = options.prefix.empty() ? std::string(kDefaultPrefix) : options.prefix;
    return prefix + "/" + path;
  }

  Status ParseFile(const std::string& path) {
    auto text = files.Read(path);
    if (!text.ok()) {
      return Status::NotFound("failed to open configuration file '" + path + "': " +
                              text.status().message());
    }
    if (++depth > kMaxIncludeDepth) {
      return Status::InvalidArgument("failed to include more than 5 files recursively");
    }
    doc.files.push_back(path);
    pending_comments.clear();
    std::string_view rest = *text;
    int line = 0;
    while (!rest.empty()) {
      ++line;
      const size_t nl = rest.find('\n');
      std::string_view raw = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      Location at{path, line};
      if (Status st = ParseLine(raw, at); !st.ok()) {
        --depth;
        return st;
      }
    }
    --depth;
    pending_comments.clear();
    return Status::Ok();
  }

  // The comment lines collected so far belong to the line at `at`.
  void TakeComments(const Location& at) {
    if (pending_comments.empty()) return;
    if (doc.comments.size() < kMaxCommentBlocks) doc.comments.push_back(CommentBlock{at, std::move(pending_comments)});
    pending_comments.clear();
  }

  Status Fail(const Location& at, std::string_view what) {
    return Status::InvalidArgument(Where(at) + " " + std::string(what));
  }

  Status ParseLine(std::string_view raw, const Location& at) {
    std::string_view line = Trim(raw);
    if (line.empty()) {
      pending_comments.clear();  // a blank line ends a comment block
      return Status::Ok();
    }
    if (line.front() == ';' || line.front() == '#') {
      if (line.front() == '#') {
        doc.warnings.push_back(Where(at) + " '#' starts a comment here; php-fpm 8 rejects such a line "
                                           "(\"value is NULL for a ZEND_INI_PARSER_ENTRY\"): use ';'");
      }
      if (pending_comments.size() < kMaxCommentLines) pending_comments.emplace_back(line.substr(1));
      return Status::Ok();
    }
    TakeComments(at);
    if (line.front() == '[') return ParseSection(line, at);

    const size_t eq = line.find('=');
    const size_t bracket = line.find('[');
    Entry e;
    e.at = at;
    std::string_view value_text;
    if (bracket != std::string_view::npos && (eq == std::string_view::npos || bracket < eq)) {
      const size_t close = line.find(']', bracket);
      if (close == std::string_view::npos) {
        return Fail(at, "syntax error, unexpected end of line, expecting ']'");
      }
      e.name = std::string(Trim(line.substr(0, bracket)));
      e.array = true;
      e.key = std::string(Trim(line.substr(bracket + 1, close - bracket - 1)));
      std::string_view after = Trim(line.substr(close + 1));
      if (after.empty() || after.front() != '=') {
        return Fail(at, "expected '=' after '" + e.name + "[" + e.key + "]'");
      }
      value_text = after.substr(1);
    } else {
      if (eq == std::string_view::npos) {
        return Fail(at, "expected 'name = value', found '" + std::string(line) +
                            "' (php-fpm: value is NULL for a ZEND_INI_PARSER_ENTRY)");
      }
      e.name = std::string(Trim(line.substr(0, eq)));
      value_text = line.substr(eq + 1);
    }
    if (e.name.empty()) return Fail(at, "syntax error, unexpected '='");
    ValueResult v = ParseValue(value_text, getenv);
    if (!v.ok) return Fail(at, v.error);
    for (const std::string& name : v.unset_variables) {
      doc.warnings.push_back(Where(at) + " environment variable " + name +
                             " is not set; ${" + name + "} is empty (as in php-fpm)");
    }
    e.value = std::move(v.value);

    if (!e.array && e.name == "include") {
      return Include(e.value, at);
    }
    if (current_pool < 0) {
      doc.global.push_back(std::move(e));
    } else {
      doc.pools[static_cast<size_t>(current_pool)].entries.push_back(std::move(e));
    }
    return Status::Ok();
  }

  Status ParseSection(std::string_view line, const Location& at) {
    const size_t close = line.find(']');
    if (close == std::string_view::npos) {
      return Fail(at, "syntax error, unexpected end of line, expecting ']'");
    }
    std::string_view after = Trim(line.substr(close + 1));
    if (!after.empty() && after.front() != ';') {
      return Fail(at, "syntax error, unexpected '" + std::string(after) + "' after the section name");
    }
    ValueResult name = ParseValue(line.substr(1, close - 1), getenv);
    if (!name.ok) return Fail(at, name.error);
    if (name.value.empty()) return Fail(at, "a section needs a name ([global] or a pool name)");
    if (EqualsNoCase(name.value, "global")) {
      if (doc.global_at.line == 0) doc.global_at = at;
      current_pool = -1;
      return Status::Ok();
    }
    for (size_t i = 0; i < doc.pools.size(); ++i) {
      if (EqualsNoCase(doc.pools[i].name, name.value)) {
        current_pool = static_cast<int>(i);
        return Status::Ok();
      }
    }
    doc.pools.push_back(Pool{name.value, at, {}});
    current_pool = static_cast<int>(doc.pools.size() - 1);
    return Status::Ok();
  }

  Status Include(const std::string& pattern, const Location& at) {
    const std::string full = Resolve(pattern);
    auto matches = files.Glob(full);
    if (!matches.ok()) {
      return Fail(at, "Unable to globalize '" + full + "': " + matches.status().message());
    }
    if (matches->empty()) {
      doc.warnings.push_back("Nothing matches the include pattern '" + full + "' from " + at.file +
                             " at line " + std::to_string(at.line) + ".");
      return Status::Ok();
    }
    for (const std::string& file : *matches) {
      if (!file.empty() && file.back() == '/') continue;  // directories
      if (Status st = ParseFile(file); !st.ok()) {
        return Status::InvalidArgument(st.message() + "\nUnable to include " + file + " from " + at.file +
                                       " at line " + std::to_string(at.line));
      }
    }
    return Status::Ok();
  }
};

class SystemFilesImpl final : public Files {
 public:
  Result<std::string> Read(const std::string& path) override { return os::ReadFile(path); }
  Result<std::vector<std::string>> Glob(const std::string& pattern) override { return os::Glob(pattern); }
};

}  // namespace

Result<std::string> CheckedFiles::Read(const std::string& path) {
  return os::ReadRegularFile(path, max_bytes_, [&](const struct stat& st) { return accept_(path, st); });
}

Result<std::vector<std::string>> CheckedFiles::Glob(const std::string& pattern) { return os::Glob(pattern); }

std::string Where(const Location& at) { return "[" + at.file + ":" + std::to_string(at.line) + "]"; }

Files& SystemFiles() {
  static SystemFilesImpl files;
  return files;
}

Result<Document> Parse(const std::string& path, Files& files, const ParseOptions& options) {
  Parser p{files, options, options.getenv, {}, -1, 0};
  if (p.getenv == nullptr) p.getenv = [](const char* n) -> const char* { return std::getenv(n); };
  p.doc.main_file = path;
  if (Status st = p.ParseFile(path); !st.ok()) return st;
  return std::move(p.doc);
}

}  // namespace tfpm::config::fpm
