# binding.gyp - builds the memctx addon (build/Release/memctx.node) with node-gyp: every C file of
# the core (native/src/*.c, as C11) and every binding file (native/binding/*.cc, node-addon-api),
# listed by native/binding/sources.js. Used by the source build of an install (node-gyp-build,
# when no prebuilt binary fits) and by scripts/prebuild.sh.
# Warnings are errors only when MEMCTX_WERROR=1 (the project's own builds and CI): a warning that a
# user's newer compiler adds must not break an install.
{
  "variables": {
    "memctx_werror%": "<!(node -p \"process.env.MEMCTX_WERROR === '1' ? 1 : 0\")",
    # A measurement build only (bench/js/scrub-cost.sh): contexts without MCX_CONTEXT_CLEAN, to
    # tell the cost of scrubbing from the rest. Never for use: buffers then carry old bytes.
    "memctx_measure_without_scrub%": "<!(node -p \"process.env.MEMCTX_MEASURE_WITHOUT_SCRUB === '1' ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "memctx",
      "sources": ["<!@(node native/binding/sources.js)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include",
        "native/src"
      ],
      "defines": [
        "_GNU_SOURCE",
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "MCX_API="
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_c": ["-std=c11", "-Wpedantic"],
      # One C++ standard on every Node: the V8 headers of Node 24 and later need C++20, and
      # Node's common.gypi asks for gnu++17 (Node 20, 22) or gnu++20 (Node 24, 26).
      "cflags_cc": ["-std=c++20", "-fvisibility-inlines-hidden"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      # The addon stays loaded until the process exits: V8 may call the deleters of chunk
      # ArrayBuffers (code in this library) after the last environment that loaded it is gone.
      "ldflags": ["-Wl,-z,nodelete"],
      "conditions": [
        ["memctx_werror==1", { "cflags": ["-Werror"] }],
        ["memctx_measure_without_scrub==1", { "defines": ["MEMCTX_MEASURE_WITHOUT_SCRUB"] }]
      ]
    }
  ]
}
