#include "status/escape.h"

namespace tfpm::status {
namespace {

bool Lead(unsigned char c) { return c < 0x80 || (c >= 0xc2 && c <= 0xf4); }
bool Trail(unsigned char c) { return c >= 0x80 && c <= 0xbf; }

// XML 1.0's Char production (PHP: unicode_cp_is_allowed, ENT_HTML_DOC_XML1).
bool XmlAllowed(unsigned cp) {
  return (cp >= 0x20 && cp <= 0xd7ff) || cp == 0x0a || cp == 0x09 || cp == 0x0d ||
         (cp >= 0xe000 && cp <= 0x10ffff && cp != 0xfffe && cp != 0xffff);
}

constexpr char kHex[] = "0123456789abcdef";

void AppendU(std::string* out, unsigned v) {
  const char u[6] = {'\\', 'u', kHex[(v >> 12) & 0xf], kHex[(v >> 8) & 0xf], kHex[(v >> 4) & 0xf], kHex[v & 0xf]};
  out->append(u, 6);
}

}  // namespace

bool NextUtf8(std::string_view s, size_t* pos, unsigned* cp) {
  const size_t at = *pos;
  const size_t avail = s.size() - at;
  auto fail = [&](size_t advance) {
    *pos = at + advance;
    return false;
  };
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[at + i]); };
  if (avail == 0) return fail(1);
  const unsigned char c = b(0);
  if (c < 0x80) {
    *cp = c;
    *pos = at + 1;
    return true;
  }
  if (c < 0xc2) return fail(1);
  if (c < 0xe0) {
    if (avail < 2) return fail(1);
    if (!Trail(b(1))) return fail(Lead(b(1)) ? 1 : 2);
    *cp = ((c & 0x1fu) << 6) | (b(1) & 0x3fu);
    if (*cp < 0x80) return fail(2);
    *pos = at + 2;
    return true;
  }
  if (c < 0xf0) {
    if (avail < 3 || !Trail(b(1)) || !Trail(b(2))) {
      if (avail < 2 || Lead(b(1))) return fail(1);
      if (avail < 3 || Lead(b(2))) return fail(2);
      return fail(3);
    }
    *cp = ((c & 0x0fu) << 12) | ((b(1) & 0x3fu) << 6) | (b(2) & 0x3fu);
    if (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff)) return fail(3);
    *pos = at + 3;
    return true;
  }
  if (c < 0xf5) {
    if (avail < 4 || !Trail(b(1)) || !Trail(b(2)) || !Trail(b(3))) {
      if (avail < 2 || Lead(b(1))) return fail(1);
      if (avail < 3 || Lead(b(2))) return fail(2);
      if (avail < 4 || Lead(b(3))) return fail(3);
      return fail(4);
    }
    *cp = ((c & 0x07u) << 18) | ((b(1) & 0x3fu) << 12) | ((b(2) & 0x3fu) << 6) | (b(3) & 0x3fu);
    if (*cp < 0x10000 || *cp > 0x10ffff) return fail(4);
    *pos = at + 4;
    return true;
  }
  return fail(1);
}

std::string EscapeXml(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t pos = 0; pos < s.size();) {
    const size_t begin = pos;
    unsigned cp = 0;
    if (!NextUtf8(s, &pos, &cp)) return std::string();
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (XmlAllowed(cp)) {
          out.append(s.substr(begin, pos - begin));
        } else {
          out += "\xef\xbf\xbd";
        }
    }
  }
  return out;
}

std::string EscapeJson(std::string_view s, JsonSlashes slashes, JsonUnicode unicode) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[pos]);
    if (c >= 0x80) {
      const size_t begin = pos;
      unsigned cp = 0;
      if (!NextUtf8(s, &pos, &cp)) continue;  // JSON_INVALID_UTF8_IGNORE
      if (unicode == JsonUnicode::kUnescaped && (cp < 0x2028 || cp > 0x2029)) {
        out.append(s.substr(begin, pos - begin));
      } else if (cp >= 0x10000) {
        cp -= 0x10000;
        AppendU(&out, 0xd800 | (cp >> 10));
        AppendU(&out, 0xdc00 | (cp & 0x3ff));
      } else {
        AppendU(&out, cp);
      }
      continue;
    }
    ++pos;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '/': out += slashes == JsonSlashes::kEscaped ? "\\/" : "/"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          AppendU(&out, c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace tfpm::status
