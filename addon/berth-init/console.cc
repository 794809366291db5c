// process.terminal: a pty made in the container's own devpts (so the container
// sees its /dev/pts), its master sent to the engine over the console socket (with
// SCM_RIGHTS, and the slave's name as the message, as runc sends it), its slave
// the process's controlling terminal and stdio.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/scm_rights.h"
#include "berth-init/berth_init.h"

// config-linux.md "Default Devices": with a terminal, "/dev/console is set up ...
// by bind mounting the pseudoterminal pty to /dev/console". The pty by its fd, the
// target opened without leaving the container's root.
static void mount_on_console(int slave) {
  int tgt = open_in_root(rootfs_fd(), "/dev/console", O_PATH | O_NOFOLLOW, true, true);
  if (tgt < 0) fail("making /dev/console for the terminal", "process.terminal", -tgt);
  int tree = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0 || move_mount(tree, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("bind-mounting the pty on /dev/console", "process.terminal", errno);
  close(tree);
  close(tgt);
}

void setup_console(const plan::Plan& p, bool mount_console) {
  // Without a terminal the process still leads a session of its own (main.cc's
  // new_session, as runc): CRIU can then checkpoint its tree.
  if (!p.console) return;
  int sock = (int)p.console->socket;
  unsigned rows = (unsigned)p.console->rows, cols = (unsigned)p.console->cols;
  // The container's /dev/ptmx (a symlink to pts/ptmx of its devpts instance).
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("opening /dev/ptmx in the container", "process.terminal", errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail("unlocking the pty", "process.terminal", errno);
  // The slave through the master (no path lookup the container could redirect).
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) fail("opening the pty slave", "process.terminal", errno);
  // The process's user owns its terminal (as under runc), or a non-root user
  // could not reopen its /dev/pts/N. Only the uid: devpts's gid= names the group.
  // Only this pty: inherited stdio may be host devices, never to be chowned.
  if (p.user) {
    uid_t uid = (uid_t)p.user->uid;
    // EINVAL: a uid the user namespace does not map; setting it fails later, saying so.
    if (fchown(slave, uid, (gid_t)-1) < 0 && errno != EINVAL)
      fail("giving the terminal to the process's user", "process.user.uid", errno);
  }
  unsigned n = 0;
  char name[64];
  if (ioctl(master, TIOCGPTN, &n) < 0) fail("naming the pty", "process.terminal", errno);
  snprintf(name, sizeof name, "/dev/pts/%u", n);
  if (rows || cols) {
    struct winsize ws = {};
    ws.ws_row = (unsigned short)rows;
    ws.ws_col = (unsigned short)cols;
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) fail("setting the terminal size", "process.consoleSize", errno);
  }
  if (mount_console) mount_on_console(slave);
  if (send_fds(sock, name, strlen(name), &master, 1) < 0)
    fail("sending the pty master to the console socket", "--console-socket", errno);
  close(master);
  close(sock);
  // The pty as controlling terminal of the process's session (new_session) and as stdio.
  if (ioctl(slave, TIOCSCTTY, 0) < 0) fail("setting the controlling terminal", "process.terminal", errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) fail("making the pty the process's stdio", "process.terminal", errno);
  if (slave > 2) close(slave);
}
