#include "os/acl.h"

#include <acl/libacl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/acl.h>

#include <cerrno>
#include <charconv>

namespace tfpm::os {
namespace {

// Frees the ACL a variable holds when the scope ends (acl_create_entry
// and acl_calc_mask may replace it, so the variable, not a copy).
struct AclGuard {
  acl_t* acl;
  ~AclGuard() { acl_free(*acl); }
};

bool NumericId(const std::string& s, unsigned* out) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// A name or a numeric id, as user/group take them.
Result<uid_t> ResolveUser(const std::string& name) {
  if (passwd* pw = ::getpwnam(name.c_str())) return pw->pw_uid;
  if (unsigned id = 0; NumericId(name, &id)) return static_cast<uid_t>(id);
  return Status::InvalidArgument("no such user " + name);
}

Result<gid_t> ResolveGroup(const std::string& name) {
  if (group* gr = ::getgrnam(name.c_str())) return gr->gr_gid;
  if (unsigned id = 0; NumericId(name, &id)) return static_cast<gid_t>(id);
  return Status::InvalidArgument("no such group " + name);
}

Status AddEntry(acl_t* acl, acl_tag_t tag, const void* qualifier, const std::string& who) {
  acl_entry_t entry;
  acl_permset_t perms;
  if (acl_create_entry(acl, &entry) != 0 || acl_set_tag_type(entry, tag) != 0 ||
      acl_set_qualifier(entry, qualifier) != 0 || acl_get_permset(entry, &perms) != 0 ||
      acl_clear_perms(perms) != 0 || acl_add_perm(perms, ACL_READ) != 0 || acl_add_perm(perms, ACL_WRITE) != 0 ||
      acl_set_permset(entry, perms) != 0) {
    return ErrnoStatus("ACL entry for " + who, errno);
  }
  return Status::Ok();
}

}  // namespace

Status CheckAclNames(const std::vector<std::string>& names, bool groups) {
  for (const std::string& n : names) {
    Status st = groups ? ResolveGroup(n).status() : ResolveUser(n).status();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status GrantReadWrite(int file, const std::vector<std::string>& users, const std::vector<std::string>& groups) {
  const std::string path = "/proc/self/fd/" + std::to_string(file);
  acl_t acl = acl_get_file(path.c_str(), ACL_TYPE_ACCESS);
  if (acl == nullptr) return ErrnoStatus("reading the socket's ACL", errno);
  AclGuard guard{&acl};
  for (const std::string& u : users) {
    auto uid = ResolveUser(u);
    if (!uid.ok()) return Status::InvalidArgument("listen_acl_users: " + uid.status().message());
    if (Status st = AddEntry(&acl, ACL_USER, &uid.value(), "user " + u); !st.ok()) return st;
  }
  for (const std::string& g : groups) {
    auto gid = ResolveGroup(g);
    if (!gid.ok()) return Status::InvalidArgument("listen_acl_groups: " + gid.status().message());
    if (Status st = AddEntry(&acl, ACL_GROUP, &gid.value(), "group " + g); !st.ok()) return st;
  }
  if (acl_calc_mask(&acl) != 0) return ErrnoStatus("computing the ACL mask", errno);
  if (acl_valid(acl) != 0) return Status::InvalidArgument("the socket's ACL is not valid (a user or group listed twice?)");
  if (acl_set_file(path.c_str(), ACL_TYPE_ACCESS, acl) != 0) {
    const int err = errno;
    if (err == EOPNOTSUPP) {
      return Status::IoError("setting the socket's ACL: the file system does not support POSIX ACLs");
    }
    return ErrnoStatus("setting the socket's ACL", err);
  }
  return Status::Ok();
}

}  // namespace tfpm::os
