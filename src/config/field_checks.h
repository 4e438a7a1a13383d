// The text checks that rows of the validation tables name (Field::check):
// each returns nullptr when the text is acceptable, else the complaint that
// follows "<source>:<line>: <path>: ". Internal to the validate*.cc files.
#pragma once

#include <cstdint>
#include <string_view>

namespace tfpm::config::fields {

const char* NonEmpty(std::string_view s);
const char* AbsolutePath(std::string_view s);
const char* AbsolutePathIfSet(std::string_view s);  // "" allowed
const char* UriPath(std::string_view s);             // starts with '/'
const char* UriPathIfSet(std::string_view s);        // "" allowed
const char* Extension(std::string_view s);           // ".php"
const char* EnvName(std::string_view s);             // no '='
// Not the name of one of PHP's console SAPIs (cli, cli-server, ...).
const char* SapiName(std::string_view s);
// php-fpm's rlimit_core: a byte count or "unlimited".
const char* RlimitCore(std::string_view s);
// Its value (kRlimitUnlimited for "unlimited"); only for text RlimitCore accepted.
uint64_t RlimitCoreValue(std::string_view s);
// A user or group: a name or a numeric id, as php-fpm takes them.
const char* Principal(std::string_view s);
// An entry of listen_allowed_clients (an address or a CIDR network).
const char* ClientEntry(std::string_view s);

// A pool name: A-Z a-z 0-9 _ . - only, not empty.
bool IsPoolName(std::string_view s);
// Only ASCII digits, at least one.
bool IsDigits(std::string_view s);

}  // namespace tfpm::config::fields
