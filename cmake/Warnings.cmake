# chatd::warnings: the warning flags of every target built here, as one
# interface target (never exported: a project that links chatd keeps its own
# flags). CHATD_WERROR=ON (scripts/test.sh, so CI) makes them errors.
add_library(chatd_warnings INTERFACE)
add_library(chatd::warnings ALIAS chatd_warnings)
# Designated initializers with defaults are idiomatic C++20: no warning for the
# fields they leave out. GCC 12 at -O2 takes Asio's coroutine frame
# allocator (aligned_alloc, then operator delete) for a mismatched pair, and
# warns -Wrestrict inside libstdc++'s string code: both false positives.
target_compile_options(chatd_warnings INTERFACE -Wall -Wextra -Wno-missing-field-initializers
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict -Wno-mismatched-new-delete>)
# Under TSan GCC 12 warns that Asio's fenced blocks use atomic_thread_fence,
# which TSan does not model: Asio's own code, not ours.
if(CHATD_SANITIZE MATCHES "thread")
  target_compile_options(chatd_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
endif()
if(CHATD_WERROR)
  target_compile_options(chatd_warnings INTERFACE -Werror)
endif()

# Links chatd::warnings into every library and executable defined under `dir`
# (called once, after every add_subdirectory, so no CMakeLists can forget it).
function(chatd_add_warnings_to_all_targets dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|EXECUTABLE)$")
      target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:chatd_warnings>)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    chatd_add_warnings_to_all_targets(${subdir})
  endforeach()
endfunction()
