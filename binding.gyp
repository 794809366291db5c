{
  # Two products: the N-API module loaded by the CLI (small helpers Node lacks) and
  # berth-init, a static executable that does all namespace and mount work. Node is
  # multithreaded, so nothing that enters namespaces ever runs inside it.
  "targets": [
    {
      "target_name": "berth",
      "sources": ["addon/napi/addon.cc", "addon/napi/seccomp.cc", "addon/napi/bpf.cc", "addon/napi/relay.cc", "addon/napi/hook.cc",
                  # berth-init's resolution inside a rootfs, for restore's mount points
                  "addon/berth-init/util.cc", "addon/berth-init/sys.cc"],
      # libseccomp (Debian: libseccomp-dev) linked statically: a built or prebuilt
      # addon runs on hosts without libseccomp.so.
      "libraries": ["-l:libseccomp.a"],
      "ldflags": ["-Wl,--exclude-libs,libseccomp.a"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "addon"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "berth-init",
      "type": "executable",
      "sources": [
        "addon/berth-init/main.cc",
        "addon/berth-init/plan.cc",
        "addon/berth-init/plan.gen.cc",
        "addon/berth-init/sync.cc",
        "addon/berth-init/mounts.cc",
        "addon/berth-init/devices.cc",
        "addon/berth-init/sources.cc",
        "addon/berth-init/idmap.cc",
        "addon/berth-init/usermaps.cc",
        "addon/berth-init/process.cc",
        "addon/berth-init/console.cc",
        "addon/berth-init/seccomp.cc",
        "addon/berth-init/sys.cc",
        "addon/berth-init/util.cc"
      ],
      "include_dirs": ["addon"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2", "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    }
  ]
}
