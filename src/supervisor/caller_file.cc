#include "supervisor/caller_file.h"

namespace tfpm::supervisor {

Status CallerMayRead(const struct stat& st, const Caller& caller, uid_t daemon_uid, const std::string& path) {
  if (caller.uid == 0 || st.st_uid == caller.uid) return Status::Ok();
  const bool ours = st.st_uid == 0 || st.st_uid == daemon_uid;
  const bool readable = (st.st_mode & S_IROTH) != 0 || ((st.st_mode & S_IRGRP) != 0 && st.st_gid == caller.gid);
  if (ours && readable) return Status::Ok();
  return Status::InvalidArgument(path + ": not readable by uid " + std::to_string(caller.uid) +
                                 " (config-test reads a file of the caller's, or of root's that the caller may "
                                 "read)");
}

}  // namespace tfpm::supervisor
