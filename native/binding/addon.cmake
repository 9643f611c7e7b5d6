# native/binding/addon.cmake - the Node addon under cmake-js: the memctx library target plus the
# node-addon-api binding, as <out>/Release/memctx.node. `npm run build:cmake` uses -O build-cmake
# (node-gyp owns build/); load that build with MEMCTX_ADDON_PATH=build-cmake/Release/memctx.node.
# Included by the top-level CMakeLists.txt when CMAKE_JS_VERSION is set.
execute_process(
  COMMAND node -p "require('node-addon-api').include_dir"
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE MEMCTX_NODE_ADDON_API_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\"" "" MEMCTX_NODE_ADDON_API_DIR "${MEMCTX_NODE_ADDON_API_DIR}")

add_library(memctx_addon SHARED native/binding/addon.cc native/binding/malloc_trim.cc ${CMAKE_JS_SRC})
# The core is linked in statically: its symbols stay hidden inside memctx.node.
target_compile_definitions(memctx PUBLIC "MCX_API=")
set_target_properties(memctx_addon PROPERTIES
  PREFIX ""
  SUFFIX ".node"
  OUTPUT_NAME memctx
  CXX_STANDARD 17
  CXX_STANDARD_REQUIRED ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_include_directories(memctx_addon PRIVATE ${CMAKE_JS_INC} ${MEMCTX_NODE_ADDON_API_DIR})
target_compile_definitions(memctx_addon PRIVATE
  NAPI_VERSION=8 NAPI_DISABLE_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED BUILDING_NODE_EXTENSION)
target_compile_options(memctx_addon PRIVATE -Wall -Wextra -Werror)
# cmake-js in Node-API mode gives only the Node-API headers. The V8 fast path for chunk
# ArrayBuffers (see addon.cc) needs v8.h of the running node: use it when the node install has
# its headers (Debian's nodejs does, under include/node), else build Node-API only.
execute_process(
  COMMAND node -p "require('path').resolve(process.execPath, '..', '..', 'include', 'node')"
  OUTPUT_VARIABLE MEMCTX_NODE_INCLUDE_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(EXISTS "${MEMCTX_NODE_INCLUDE_DIR}/v8.h" AND EXISTS "${MEMCTX_NODE_INCLUDE_DIR}/node_version.h")
  # after the Node-API headers of cmake-js, so those stay the ones used for Node-API
  target_include_directories(memctx_addon SYSTEM AFTER PRIVATE ${MEMCTX_NODE_INCLUDE_DIR})
else()
  target_compile_definitions(memctx_addon PRIVATE MEMCTX_NAPI_ONLY=1)
endif()
target_link_libraries(memctx_addon PRIVATE memctx ${CMAKE_JS_LIB})
if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
  execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF} /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
endif()
