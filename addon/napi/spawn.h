// What the addon's two spawns share (spawn in addon.cc, for berth-init; runHook in
// hook.cc): a JS array of strings as an exec vector, and posix_spawn with every
// signal at its default and none blocked, so Node's dispositions and mask never
// reach a child. posix_spawn does only async-signal-safe work in the child.
#pragma once

#include <napi.h>
#include <signal.h>
#include <spawn.h>

#include <string>
#include <vector>

inline std::vector<std::string> Strings(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>());
  return out;
}

// Pointers into s, NULL-terminated: valid while s is.
inline std::vector<char*> Pointers(std::vector<std::string>& s) {
  std::vector<char*> p;
  for (auto& x : s) p.push_back(x.data());
  p.push_back(nullptr);
  return p;
}

// posix_spawn of path with argv and envp, fa's file actions, default signals and an
// empty mask; 0 or the error number.
inline int SpawnClean(pid_t* pid, const std::string& path, const posix_spawn_file_actions_t* fa, std::vector<std::string>& argv, char* const* envp) {
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(pid, path.c_str(), fa, &at, Pointers(argv).data(), envp);
  posix_spawnattr_destroy(&at);
  return rc;
}
