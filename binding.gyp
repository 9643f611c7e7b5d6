# binding.gyp - builds the memctx addon (build/Release/memctx.node) with node-gyp on npm install:
# the C core (the MEMCTX_SOURCES list of CMakeLists.txt, read at configure time so the two builds
# cannot drift) compiled as C11, plus the node-addon-api binding in native/binding/.
{
  "targets": [
    {
      "target_name": "memctx",
      "sources": [
        "<!@(node native/binding/sources.js)",
        "native/binding/addon.cc",
        "native/binding/malloc_trim.cc"
      ],
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
        "MCX_API="
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Werror"],
      "cflags_c": ["-std=c11", "-Wpedantic"],
      "cflags_cc": ["-std=c++17", "-fvisibility-inlines-hidden"],
      "cflags_cc!": ["-std=gnu++17"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CFLAGS": ["-std=c11"]
      }
    }
  ]
}
