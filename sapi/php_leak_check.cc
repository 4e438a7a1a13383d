// The state-leak detector (php_leak_check.h). Cost model: the list of
// fingerprinted items (static properties, functions with static variables,
// globals) is rebuilt only when the class or function table grew; a Check()
// otherwise walks that list, the symbol table and a dozen single values.
#include "sapi/php_leak_check.h"

#include <algorithm>
#include <clocale>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sapi/php_internal.h"

extern "C" {
#include <Zend/zend_attributes.h>
#include <ext/standard/basic_functions.h>
#include <ext/standard/file.h>
#include <main/php_streams.h>
}

namespace tfpm::sapi {
namespace {

constexpr char kAllowAttribute[] = "tfpmallowstate";  // lower-case, as Zend stores attribute names
constexpr int kDepth = 2;                              // levels of arrays/objects looked into
constexpr uint32_t kSample = 8;                        // elements from each end of an array

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

uint64_t Fingerprint(const zval* z, int depth);

uint64_t BucketFingerprint(const Bucket* b, int depth) {
  uint64_t h = b->key ? zend_string_hash_val(b->key) : b->h;
  return Mix(h, Fingerprint(&b->val, depth));
}

uint64_t ArrayFingerprint(const HashTable* ht, int depth) {
  uint64_t h = Mix(IS_ARRAY, zend_hash_num_elements(ht));
  h = Mix(h, static_cast<uint64_t>(ht->nNextFreeElement));
  if (depth <= 0 || zend_hash_num_elements(ht) == 0) return h;
  const uint32_t used = ht->nNumUsed;
  auto one = [&](uint32_t i) {
    if (HT_IS_PACKED(ht)) {
      const zval* v = &ht->arPacked[i];
      if (Z_TYPE_P(v) != IS_UNDEF) h = Mix(Mix(h, i), Fingerprint(v, depth - 1));
    } else {
      const Bucket* b = &ht->arData[i];
      if (Z_TYPE(b->val) != IS_UNDEF) h = Mix(h, BucketFingerprint(b, depth - 1));
    }
  };
  if (used <= 2 * kSample) {
    for (uint32_t i = 0; i < used; ++i) one(i);
  } else {
    for (uint32_t i = 0; i < kSample; ++i) one(i);
    for (uint32_t i = used - kSample; i < used; ++i) one(i);
  }
  return h;
}

uint64_t Fingerprint(const zval* z, int depth) {
  if (Z_TYPE_P(z) == IS_INDIRECT) z = Z_INDIRECT_P(z);
  if (Z_ISREF_P(z)) z = Z_REFVAL_P(z);
  uint64_t h = Z_TYPE_P(z);
  switch (Z_TYPE_P(z)) {
    case IS_LONG: return Mix(h, static_cast<uint64_t>(Z_LVAL_P(z)));
    case IS_DOUBLE: {
      uint64_t bits;
      const double d = Z_DVAL_P(z);
      std::memcpy(&bits, &d, sizeof(bits));
      return Mix(h, bits);
    }
    case IS_STRING: return Mix(Mix(h, Z_STRLEN_P(z)), zend_string_hash_val(Z_STR_P(z)));
    case IS_ARRAY: return ArrayFingerprint(Z_ARRVAL_P(z), depth);
    case IS_OBJECT: {
      const zend_object* o = Z_OBJ_P(z);
      h = Mix(Mix(h, o->handle), reinterpret_cast<uintptr_t>(o->ce));
      if (depth <= 0) return h;
      const int n = std::min(o->ce->default_properties_count, 16);
      for (int i = 0; i < n; ++i) h = Mix(h, Fingerprint(&o->properties_table[i], depth - 1));
      // Dynamic properties (and, once built, the declared ones again).
      if (o->properties) h = Mix(h, ArrayFingerprint(o->properties, depth - 1));
      return h;
    }
    case IS_RESOURCE: return Mix(h, static_cast<uint64_t>(Z_RES_HANDLE_P(z)));
    case IS_CONSTANT_AST: return Mix(h, reinterpret_cast<uintptr_t>(Z_AST_P(z)));
    default: return h;
  }
}

std::string Str(const zend_string* s) {
  std::string out(ZSTR_VAL(s), ZSTR_LEN(s));
  // An anonymous class's name carries a NUL and its file after it.
  if (const size_t nul = out.find('\0'); nul != std::string::npos) out.resize(nul);
  return out;
}

bool HasAllowAttribute(HashTable* attributes) {
  return attributes != nullptr && zend_get_attribute_str(attributes, kAllowAttribute, sizeof(kAllowAttribute) - 1);
}

// What one fingerprinted item is.
enum class Kind : uint8_t { kStaticProperty, kStaticVariable };

struct Item {
  Kind kind;
  zend_class_entry* ce;         // kStaticProperty; scope (or null) for kStaticVariable
  zend_op_array* op_array;      // kStaticVariable
  uint32_t slot;                // property offset / index in the static variables
  bool attribute_allowed;       // #[TfpmAllowState] on it, its function or its class
  int8_t name_allowed = -1;     // -1: allowlist not consulted yet
  uint64_t fingerprint = 0;
};

// The single values (not per class or function).
enum Single : int {
  kLocale, kTimezone, kErrorReporting, kMbEncoding, kErrorHandler, kExceptionHandler, kShutdown,
  kAutoloaders, kStreamWrappers, kStreamFilters, kResources, kSingleCount
};
constexpr const char* kSingleNames[kSingleCount] = {
    "locale", "timezone", "error_reporting", "mb_internal_encoding", "error_handler", "exception_handler",
    "shutdown_functions", "autoloaders", "stream_wrappers", "stream_filters", "resources"};

uint64_t CString(const char* s) {
  return s == nullptr ? 0 : zend_hash_func(s, std::strlen(s));
}

// Calls an internal function without arguments (a read-only probe such as
// spl_autoload_functions()) and fingerprints its result; 0 if it does not
// exist.
uint64_t Probe(zend_function* fn) {
  if (fn == nullptr) return 0;
  zval rv;
  ZVAL_UNDEF(&rv);
  zend_call_known_function(fn, nullptr, nullptr, &rv, 0, nullptr, nullptr);
  const uint64_t h = Fingerprint(&rv, kDepth);
  zval_ptr_dtor(&rv);
  return h;
}

}  // namespace

struct LeakDetector::Impl {
  std::vector<std::string> allow;
  bool baseline = false;
  // Table sizes the item list was built from.
  uint32_t classes_used = UINT32_MAX, functions_used = UINT32_MAX;
  const void* classes_data = nullptr;
  std::vector<Item> items;
  std::unordered_map<std::string, uint64_t> globals;
  std::unordered_map<std::string, int8_t> globals_allowed;
  uint64_t singles[kSingleCount] = {};
  int8_t singles_allowed[kSingleCount];
  uint32_t resources = 0;
  zend_function* autoload_functions = nullptr;
  zend_function* mb_internal_encoding = nullptr;
  zend_function* timezone_get = nullptr;
  uint64_t seen_generation = 0;

  bool Allowed(const std::string& name) const {
    for (const std::string& a : allow) {
      if (!a.empty() && a.back() == '*') {
        if (name.compare(0, a.size() - 1, a, 0, a.size() - 1) == 0) return true;
      } else if (a == name) {
        return true;
      }
    }
    return false;
  }

  static std::string NameOf(const Item& it) {
    if (it.kind == Kind::kStaticProperty) {
      const zend_property_info* pi = nullptr;
      zend_string* key;
      void* p;
      ZEND_HASH_MAP_FOREACH_STR_KEY_PTR(&it.ce->properties_info, key, p) {
        auto* info = static_cast<zend_property_info*>(p);
        if ((info->flags & ZEND_ACC_STATIC) && info->ce == it.ce && info->offset == it.slot) {
          pi = info;
          break;
        }
      }
      ZEND_HASH_FOREACH_END();
      (void)key;
      std::string prop = "?";
      if (pi != nullptr) {
        const char* cls;
        const char* name;
        size_t len;
        if (zend_unmangle_property_name_ex(pi->name, &cls, &name, &len) == SUCCESS) prop.assign(name, len);
      }
      return Str(it.ce->name) + "::$" + prop;
    }
    std::string fn = it.op_array->function_name ? Str(it.op_array->function_name) : "{main}";
    if (it.ce) fn = Str(it.ce->name) + "::" + fn;
    const HashTable* vars = it.op_array->static_variables;
    std::string var = "?";
    if (vars && it.slot < vars->nNumUsed && vars->arData[it.slot].key) var = Str(vars->arData[it.slot].key);
    return fn + "()::$" + var;
  }

  static uint64_t Current(const Item& it) {
    if (it.kind == Kind::kStaticProperty) {
      zval* table = CE_STATIC_MEMBERS(it.ce);
      return Fingerprint(table ? &table[it.slot] : &it.ce->default_static_members_table[it.slot], kDepth);
    }
    auto* ht = static_cast<HashTable*>(ZEND_MAP_PTR_GET(it.op_array->static_variables_ptr));
    if (ht == nullptr) ht = it.op_array->static_variables;
    if (it.slot >= ht->nNumUsed) return 0;
    return Fingerprint(&ht->arData[it.slot].val, kDepth);
  }

  // The state an item had before this run touched it: its declared default.
  static uint64_t Default(const Item& it, bool* known) {
    const zval* v = it.kind == Kind::kStaticProperty ? &it.ce->default_static_members_table[it.slot]
                                                      : &it.op_array->static_variables->arData[it.slot].val;
    if (Z_TYPE_P(v) == IS_INDIRECT) v = Z_INDIRECT_P(v);
    *known = Z_TYPE_P(v) != IS_CONSTANT_AST;
    return Fingerprint(v, kDepth);
  }

  void AddFunction(zend_function* f, zend_class_entry* scope, bool class_allowed) {
    if (f->type != ZEND_USER_FUNCTION || f->op_array.static_variables == nullptr) return;
    if (scope != nullptr && f->common.scope != scope) return;  // inherited: the declaring class has it
    const bool allowed = class_allowed || HasAllowAttribute(f->op_array.attributes);
    const HashTable* vars = f->op_array.static_variables;
    for (uint32_t i = 0; i < vars->nNumUsed; ++i) {
      if (Z_TYPE(vars->arData[i].val) == IS_UNDEF) continue;
      items.push_back(Item{Kind::kStaticVariable, scope, &f->op_array, i, allowed});
    }
  }

  // Rebuilds the item list when classes or functions were added; items
  // already known keep their fingerprint, new ones start from their
  // declared default (so a value a request gave them counts as a change).
  void Refresh() {
    HashTable* classes = EG(class_table);
    HashTable* functions = EG(function_table);
    if (classes->nNumUsed == classes_used && classes->arData == classes_data &&
        functions->nNumUsed == functions_used) {
      return;
    }
    classes_used = classes->nNumUsed;
    classes_data = classes->arData;
    functions_used = functions->nNumUsed;
    std::vector<Item> old = std::move(items);
    items.clear();
    zend_string* key;
    void* p;
    ZEND_HASH_MAP_FOREACH_STR_KEY_PTR(classes, key, p) {
      auto* ce = static_cast<zend_class_entry*>(p);
      // Class aliases are further keys to the same entry.
      if (ce->type != ZEND_USER_CLASS || !zend_string_equals_ci(key, ce->name)) continue;
      const bool class_allowed = HasAllowAttribute(ce->attributes);
      if (ce->default_static_members_count > 0) {
        void* q;
        ZEND_HASH_MAP_FOREACH_PTR(&ce->properties_info, q) {
          auto* pi = static_cast<zend_property_info*>(q);
          if (!(pi->flags & ZEND_ACC_STATIC) || pi->ce != ce) continue;
          items.push_back(Item{Kind::kStaticProperty, ce, nullptr, static_cast<uint32_t>(pi->offset),
                               class_allowed || HasAllowAttribute(pi->attributes)});
        }
        ZEND_HASH_FOREACH_END();
      }
      void* f;
      ZEND_HASH_MAP_FOREACH_PTR(&ce->function_table, f) { AddFunction(static_cast<zend_function*>(f), ce, class_allowed); }
      ZEND_HASH_FOREACH_END();
    }
    ZEND_HASH_FOREACH_END();
    ZEND_HASH_MAP_FOREACH_PTR(functions, p) { AddFunction(static_cast<zend_function*>(p), nullptr, false); }
    ZEND_HASH_FOREACH_END();
    // Carry the known fingerprints over (both lists are in table order).
    std::unordered_map<const void*, std::vector<const Item*>> by_owner;
    for (const Item& it : old) by_owner[it.kind == Kind::kStaticProperty ? static_cast<const void*>(it.ce) : it.op_array].push_back(&it);
    for (Item& it : items) {
      auto o = by_owner.find(it.kind == Kind::kStaticProperty ? static_cast<const void*>(it.ce) : it.op_array);
      bool found = false;
      if (o != by_owner.end()) {
        for (const Item* prev : o->second) {
          if (prev->slot == it.slot && prev->kind == it.kind) {
            it.fingerprint = prev->fingerprint;
            it.name_allowed = prev->name_allowed;
            found = true;
            break;
          }
        }
      }
      if (found) continue;
      bool known;
      it.fingerprint = Default(it, &known);
      if (!baseline || !known) it.fingerprint = Current(it);
    }
  }

  void Report(const std::string& name, int8_t* allowed_cache, bool attribute, std::vector<std::string>* changed) {
    if (*allowed_cache < 0) *allowed_cache = attribute || Allowed(name) ? 1 : 0;
    if (*allowed_cache == 0) changed->push_back(name);
  }

  void CheckGlobals(std::vector<std::string>* changed) {
    ++seen_generation;
    size_t seen = 0;
    zend_string* key;
    zval* v;
    ZEND_HASH_FOREACH_STR_KEY_VAL(&EG(symbol_table), key, v) {
      if (key == nullptr) continue;
      if (Z_TYPE_P(v) == IS_INDIRECT) v = Z_INDIRECT_P(v);
      if (Z_TYPE_P(v) == IS_UNDEF) continue;
      if (zend_hash_exists(CG(auto_globals), key) || zend_string_equals_literal(key, "argv") ||
          zend_string_equals_literal(key, "argc")) {
        continue;
      }
      ++seen;
      const uint64_t fp = Fingerprint(v, kDepth);
      std::string name(ZSTR_VAL(key), ZSTR_LEN(key));
      auto [it, added] = globals.try_emplace(name, fp);
      if (!added && it->second == fp) continue;
      it->second = fp;
      if (baseline) Report("$" + name, &globals_allowed.try_emplace(name, -1).first->second, false, changed);
    }
    ZEND_HASH_FOREACH_END();
    if (seen == globals.size()) return;
    // Some were unset: find which.
    for (auto it = globals.begin(); it != globals.end();) {
      zval* g = zend_hash_str_find(&EG(symbol_table), it->first.data(), it->first.size());
      if (g && Z_TYPE_P(g) == IS_INDIRECT) g = Z_INDIRECT_P(g);
      if (g && Z_TYPE_P(g) != IS_UNDEF) {
        ++it;
        continue;
      }
      if (baseline) Report("$" + it->first, &globals_allowed.try_emplace(it->first, -1).first->second, false, changed);
      it = globals.erase(it);
    }
  }

  // Open resources, less the default stream context: PHP creates that one
  // lazily, at the first file function called without a context (say a
  // request's file_get_contents('php://input')), and keeps it for the life
  // of the interpreter; it is no request's state and never accumulates.
  static uint64_t OpenResources() {
    uint64_t n = zend_hash_num_elements(&EG(regular_list));
    const php_stream_context* context = FG(default_context);
    if (context != nullptr && context->res != nullptr && n > 0) --n;
    return n;
  }

  void CheckSingles(std::vector<std::string>* changed) {
    uint64_t now[kSingleCount];
    now[kLocale] = CString(std::setlocale(LC_ALL, nullptr));
    now[kTimezone] = Probe(timezone_get);  // DATEG is not exported by libphp
    now[kErrorReporting] = static_cast<uint64_t>(EG(error_reporting));
    now[kMbEncoding] = Probe(mb_internal_encoding);
    now[kErrorHandler] = Mix(Fingerprint(&EG(user_error_handler), 1), zend_stack_count(&EG(user_error_handlers)));
    now[kExceptionHandler] =
        Mix(Fingerprint(&EG(user_exception_handler), 1), zend_stack_count(&EG(user_exception_handlers)));
    now[kShutdown] = BG(user_shutdown_function_names) ? zend_hash_num_elements(BG(user_shutdown_function_names)) : 0;
    now[kAutoloaders] = Probe(autoload_functions);
    zval tmp;
    ZVAL_ARR(&tmp, php_stream_get_url_stream_wrappers_hash());
    now[kStreamWrappers] = Fingerprint(&tmp, 1);
    ZVAL_ARR(&tmp, php_get_stream_filters_hash());
    now[kStreamFilters] = Fingerprint(&tmp, 1);
    now[kResources] = OpenResources();
    for (int i = 0; i < kSingleCount; ++i) {
      if (baseline && now[i] != singles[i]) {
        std::string name = kSingleNames[i];
        if (i == kResources) {
          name += " (" + std::to_string(singles[i]) + " -> " + std::to_string(now[i]) + " open)";
          if (singles_allowed[i] < 0) singles_allowed[i] = Allowed(kSingleNames[i]) ? 1 : 0;
        }
        Report(name, &singles_allowed[i], false, changed);
      }
      singles[i] = now[i];
    }
  }
};

LeakDetector::LeakDetector(std::vector<std::string> allow) : impl_(std::make_unique<Impl>()) {
  impl_->allow = std::move(allow);
  for (auto& a : impl_->singles_allowed) a = -1;
}

LeakDetector::~LeakDetector() = default;

size_t LeakDetector::items() const { return impl_->items.size() + impl_->globals.size() + kSingleCount; }

void LeakDetector::Check(std::vector<std::string>* changed) {
  Impl& d = *impl_;
  if (!d.baseline) {
    d.autoload_functions =
        static_cast<zend_function*>(zend_hash_str_find_ptr(EG(function_table), ZEND_STRL("spl_autoload_functions")));
    d.timezone_get = static_cast<zend_function*>(
        zend_hash_str_find_ptr(EG(function_table), ZEND_STRL("date_default_timezone_get")));
    d.mb_internal_encoding =
        static_cast<zend_function*>(zend_hash_str_find_ptr(EG(function_table), ZEND_STRL("mb_internal_encoding")));
  }
  d.Refresh();
  for (Item& it : d.items) {
    const uint64_t fp = Impl::Current(it);
    if (fp == it.fingerprint) continue;
    it.fingerprint = fp;
    if (d.baseline) d.Report(Impl::NameOf(it), &it.name_allowed, it.attribute_allowed, changed);
  }
  d.CheckGlobals(changed);
  d.CheckSingles(changed);
  d.baseline = true;
}

void RegisterLeakCheckClasses() {
  zend_class_entry ce;
  INIT_CLASS_ENTRY(ce, "TfpmAllowState", nullptr);
  zend_class_entry* allow = zend_register_internal_class_with_flags(&ce, nullptr, ZEND_ACC_FINAL);
  zend_internal_attribute_register(allow, ZEND_ATTRIBUTE_TARGET_PROPERTY | ZEND_ATTRIBUTE_TARGET_METHOD |
                                              ZEND_ATTRIBUTE_TARGET_FUNCTION | ZEND_ATTRIBUTE_TARGET_CLASS);
}

}  // namespace tfpm::sapi
