// berth-init: the process that builds a container. It is exec'd by the berth CLI
// (never forked from Node), reads a plan from the sync socket and applies it with
// raw syscalls. The container init it clones stays small while it waits in the
// "created" state. Errors go back to berth as MSG_ERROR naming the step, the config
// field and errno.
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "berth-init/plan.h"

// ---- sync.cc: messages to and from berth ----
extern int g_sync;  // the sync socket, -1 once closed
extern int g_fail_fd;  // where fail() reports once g_sync is closed (the exec fifo after start), else -1
bool send_pid(pid_t pid);
bool send_empty(uint32_t type);
bool send_u64(uint32_t type, uint64_t v);
// Waits for a message of `type`; its payload (items) is returned through *out.
bool recv_msg(uint32_t type, plan::Reader* out);
[[noreturn]] void fail(const char* step, const char* field, int err, const char* detail = "");

// ---- util.cc ----
int write_all(int fd, const void* buf, size_t len);
int read_all(int fd, void* buf, size_t len);  // 0 ok, -1 error or EOF
// Writes the whole string to path (O_WRONLY|O_CLOEXEC). Returns 0 or errno.
int write_file(const char* path, const char* s);
int write_file_at(int dirfd, const char* path, const char* s);
// Opens path inside the tree at root_fd, never leaving it (openat2 RESOLVE_IN_ROOT,
// no magic links). With create, missing directories are made (0755) and a missing
// last component is made as a directory or, with as_file, an empty file.
int open_in_root(int root_fd, const char* path, int flags, bool create, bool as_file);
// Splits "a/b/c" into the fd of dir "a/b" (created if asked) and leaf "c".
int open_parent_in_root(int root_fd, const char* path, bool create, const char** leaf);
// "/proc/self/fd/N" for the fd, in a static buffer per slot (0 or 1).
const char* fd_path(int fd, int slot = 0);
void fmt_u64(char* out, uint64_t v);
void close_from(unsigned first);

// ---- usermaps.cc ----
// Writes the id maps of the init's new user namespace (itself, or with
// newuidmap/newgidmap without root); on failure kills the init and fails.
void write_id_maps(const plan::Plan& p, pid_t init);

// ---- mounts.cc ----
void setup_rootfs(const plan::Plan& p);      // before pivot_root: binds, mounts
void enter_rootfs(const plan::Plan& p);      // pivot_root (or move + chroot)
void finish_rootfs(const plan::Plan& p);     // after pivot: masks, readonly, sysctl
int rootfs_fd();

// ---- sources.cc: bind mount sources opened with berth's credentials ----
// Stage 1, before joining namespaces: with a user namespace and bind mounts, forks
// the opener, which keeps berth's credentials.
void start_source_opener(const plan::Plan& p);
// Stage 1, once the init is cloned (it waits for its go): the opener opens every
// bind source inside the init's mount namespace and sends the fds to the init.
void run_source_opener(pid_t init);
// Stage 2, before setup_rootfs: receives them (a source that failed fails here).
void receive_bind_sources(const plan::Plan& p);
// The received fd of a bind source, by the plan's own string, handed over once
// (the caller closes it); -1 when there is none: open it by path. *tree tells an
// id-mapped clone, ready to attach, from an O_PATH fd of the source.
int take_bind_source(const char* source, bool* tree);

// ---- idmap.cc: id-mapped bind mounts, made by the bind source opener ----
// Where making a bind source failed (the init names the step in its error).
enum SourceStep : int32_t { SOURCE_OPEN, SOURCE_CLONE, SOURCE_USERNS, SOURCE_IDMAP };
struct IdmapSpec {
  bool rbind, recursive;  // clone the whole tree; id-map every mount of it (ridmap)
  const char *uid_map, *gid_map, *userns_path;  // maps of a namespace to make, or one's path
};
// A detached clone of the source (an fd) id-mapped as asked, or -errno with *step.
int idmapped_clone(int src, const IdmapSpec& m, SourceStep* step);

// ---- devices.cc ----
void setup_devices(const plan::Plan& p);
void reopen_dev_null(const plan::Plan& p);  // after pivot_root: stdio on the host's null device -> the container's

// ---- console.cc ----
// With process.terminal: a pty in the container, its master sent to the console
// socket, its slave the controlling terminal and stdio. Call inside the container;
// for the init (mount_console), before the rootfs is made read-only: the pty is
// bound on /dev/console too.
void setup_console(const plan::Plan& p, bool mount_console);

// ---- process.cc ----
void run_hooks(const plan::Plan& p, uint64_t kind, const char* state, uint32_t state_len);
void setup_process_limits(const plan::Plan& p);  // rlimits, personality, oom score
void resolve_executable(const plan::Plan& p);    // PATH lookup in the container
void enter_cwd(const plan::Plan& p);             // process.cwd as root, verified inside the container
int reset_signals();                             // every signal at its default, none blocked; 0 or errno
void apply_apparmor(const plan::Plan& p);        // the profile for the next execve
void finalize_identity(const plan::Plan& p);     // user, groups, caps, nnp (cwd if root could not)
[[noreturn]] void exec_process(const plan::Plan& p);

// ---- seccomp.cc ----
// Installs the filter if the plan has one and `when` (plan::SECCOMP_BEFORE_*) is
// the moment berth chose for it (src/plan/message.ts seccompWhen). With a
// listener, reports its fd to berth (MSG_SECCOMP_FD) and returns it (else -1).
int install_seccomp(const plan::Plan& p, uint64_t when);
