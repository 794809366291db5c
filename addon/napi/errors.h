// The one way the addon's functions fail: a JS Error "what: strerror(err)" with
// errno and syscall set (err 0: the message alone), thrown; returns undefined.
#pragma once
#include <napi.h>
#include <string.h>

#include <string>

inline Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, err ? what + ": " + strerror(err) : what);
  if (err) {
    e.Set("errno", Napi::Number::New(env, err));
    e.Set("syscall", Napi::String::New(env, what));
  }
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}
