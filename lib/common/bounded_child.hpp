// run_bounded(): a function run in a forked child under a wall-clock deadline, for work inside a
// daemon that may block on paths a user controls (a hung NFS or FUSE mount, a FIFO).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace paracloud {

struct BoundedChild {
  std::chrono::milliseconds timeout{5000};  // wall clock; then the child is killed (SIGKILL)
  std::size_t max_output = 4u << 20;        // bytes the child may return; more kills it
  bool as_user = false;                     // become uid/gid (no supplementary groups) first
  uid_t uid = 0;
  gid_t gid = 0;
  const char* name = nullptr;  // the child's name in ps and /proc/PID/comm (15 characters)
};

// Runs `fn` in a child process (fork, no exec) and returns the string it returned, or nullopt
// with *why set: "timed out after 5 s", "killed by signal 9", "exited with status 3", "fork
// failed: ...". The caller never waits longer than `timeout` (plus a few milliseconds): a child
// that is stuck in the kernel after SIGKILL is reaped by a later call instead of being waited for.
// The child keeps only its pipe and /dev/null on 0..2 of the parent's descriptors, dies with the
// calling thread (PR_SET_PDEATHSIG), has RLIMIT_CPU at the timeout, and ends with _exit (no atexit
// handler, no stdio flush of the parent's buffers). It is a copy of a possibly multi-threaded
// process: `fn` should only read files and compute (a lock another thread held at fork time stays
// held in the child; the deadline bounds even that).
std::optional<std::string> run_bounded(const std::function<std::string()>& fn,
                                       const BoundedChild& opt, std::string* why);

// Children of earlier calls that were killed but not yet reaped (normally 0).
std::size_t bounded_children_unreaped();

}  // namespace paracloud
