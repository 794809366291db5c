// The id maps of the container's new user namespace, written by berth-init once
// it has cloned the init (which waits for its go). As root they are written
// directly. Without root (rootless) the kernel lets a user map only its own id
// (and the gid only once setgroups is denied): that map is written directly;
// any other by newuidmap/newgidmap (setuid helpers from shadow, which allow the
// ranges /etc/subuid and /etc/subgid give the user), run with the map as
// arguments, their complaint captured for the error.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

// Runs `tool PID c h s ...` (the map text's numbers), or fails naming field.
static void run_mapper(const char* tool, pid_t pid, const char* map, const char* field) {
  static char buf[8192], out[1024];
  static char* argv[3 + 3 * 340 + 1];  // the kernel takes at most 340 lines
  int argc = 0;
  argv[argc++] = (char*)tool;
  char pidtext[24];
  fmt_u64(pidtext, (uint64_t)pid);
  argv[argc++] = pidtext;
  size_t len = strlen(map);
  if (len >= sizeof buf) fail("writing the id mappings", field, E2BIG);
  memcpy(buf, map, len + 1);
  char* save = nullptr;
  for (char* tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(nullptr, " \n", &save)) {
    if (argc >= (int)(sizeof argv / sizeof *argv) - 1) fail("writing the id mappings", field, E2BIG);
    argv[argc++] = tok;
  }
  argv[argc] = nullptr;
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0) fail("writing the id mappings", field, errno);
  pid_t child = fork();
  if (child < 0) fail("writing the id mappings", field, errno, tool);
  if (child == 0) {
    dup2(errpipe[1], 1);
    dup2(errpipe[1], 2);
    static char* const envp[] = {nullptr};
    execve(tool, argv, envp);
    _exit(127);
  }
  close(errpipe[1]);
  size_t n = 0;
  for (ssize_t r; n < sizeof out - 1 && ((r = read(errpipe[0], out + n, sizeof out - 1 - n)) > 0 || (r < 0 && errno == EINTR));)
    if (r > 0) n += (size_t)r;
  close(errpipe[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) n--;
  out[n] = 0;
  char detail[1200];
  snprintf(detail, sizeof detail, "%s %s: %s", tool, WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "could not run" : "failed",
           n ? out : "no message");
  kill(pid, SIGKILL);
  fail("writing the id mappings", field, EPERM, detail);
}

static void write_map(pid_t pid, const char* file, const char* map, const char* tool, const char* field) {
  if (*tool) return run_mapper(tool, pid, map, field);
  char path[64];
  // A user without root may write a gid map only once setgroups is denied.
  if (file[0] == 'g' && geteuid() != 0) {
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    if (int e = write_file(path, "deny")) kill(pid, SIGKILL), fail("denying setgroups for the gid mapping", field, e);
  }
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  if (int e = write_file(path, map)) kill(pid, SIGKILL), fail("writing the id mappings", field, e, map);
}

void write_id_maps(const plan::Plan& p, pid_t pid) {
  const char* uid_tool = p.id_mappers ? p.id_mappers->uid : "";
  const char* gid_tool = p.id_mappers ? p.id_mappers->gid : "";
  if (p.uid_map) write_map(pid, "uid_map", p.uid_map->map, uid_tool, "linux.uidMappings");
  if (p.gid_map) write_map(pid, "gid_map", p.gid_map->map, gid_tool, "linux.gidMappings");
}
