# native/binding/addon.cmake - the Node addon under cmake-js (npm run build:cmake): the memctx
# library target plus the node-addon-api binding, written to build/Release/memctx.node where
# node-gyp-build finds it. Included by the top-level CMakeLists.txt when CMAKE_JS_VERSION is set.
execute_process(
  COMMAND node -p "require('node-addon-api').include_dir"
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE MEMCTX_NODE_ADDON_API_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\"" "" MEMCTX_NODE_ADDON_API_DIR "${MEMCTX_NODE_ADDON_API_DIR}")

add_library(memctx_addon SHARED native/binding/addon.cc ${CMAKE_JS_SRC})
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
target_link_libraries(memctx_addon PRIVATE memctx ${CMAKE_JS_LIB})
if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
  execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF} /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
endif()
