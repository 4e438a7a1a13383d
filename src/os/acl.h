// POSIX ACLs on a file (libacl): how a pool's unix socket is opened to the
// users and groups of `listen_acl_users` / `listen_acl_groups`.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

// Checks that every name of `names` (users, or groups if `groups`) is a
// known name or a numeric id: "no such user www-dat" otherwise.
Status CheckAclNames(const std::vector<std::string>& names, bool groups);

// Adds an ACL entry granting read and write (rw-) to each user and each
// group (names or numeric ids) to the access ACL of the file open as
// `file` (an O_PATH descriptor: the ACL is set through /proc/self/fd, so
// never through a path that could have been swapped for a symlink), then
// recomputes the mask, as php-fpm does for listen.acl_users/acl_groups.
// The owner, owning group and other entries keep their mode bits. An
// unknown name is an error ("listen_acl_users: no such user www-dat"), as
// is a file system without ACL support (the message says so).
Status GrantReadWrite(int file, const std::vector<std::string>& users, const std::vector<std::string>& groups);

}  // namespace tfpm::os
