# cmake --install: the libraries behind find_package(chatd), their headers
# under include/chatd/, the executables, and the operator files (configs,
# Prometheus, Grafana, the systemd unit) under share/chatd/.
include(CMakePackageConfigHelpers)

# Every static library is exported (a static library's private dependencies
# are linked by its user); chatd::client, chatd::protocol and chatd::server
# are the documented ones.
set(chatd_libraries chatd_protocol chatd_actors chatd_metrics chatd_store chatd_lease_store chatd_gateway
    chatd_config chatd_server chatd_client)
foreach(library IN LISTS chatd_libraries)
  string(REPLACE "chatd_" "" export_name ${library})
  set_target_properties(${library} PROPERTIES EXPORT_NAME ${export_name})
endforeach()

set(chatd_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/chatd)
install(TARGETS ${chatd_libraries} EXPORT chatdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(EXPORT chatdTargets NAMESPACE chatd:: DESTINATION ${chatd_cmake_dir}
        COMPONENT development)

# Headers: <chatd/client.hpp>, <chatd/bot_host.hpp>, <chatd/protocol/*.hpp>,
# <chatd/server/server.hpp> and what they include.
install(DIRECTORY clients/cpp/chatd/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/chatd
        COMPONENT development FILES_MATCHING PATTERN "*.hpp")
install(DIRECTORY protocol/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/chatd/protocol
        COMPONENT development FILES_MATCHING PATTERN "*.hpp")
install(FILES server/server.hpp server/config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/chatd/server COMPONENT development)

configure_package_config_file(cmake/chatdConfig.cmake.in
  ${PROJECT_BINARY_DIR}/chatdConfig.cmake INSTALL_DESTINATION ${chatd_cmake_dir})
# 0.x: a minor version may break the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/chatdConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)

install(FILES ${PROJECT_BINARY_DIR}/chatdConfig.cmake ${PROJECT_BINARY_DIR}/chatdConfigVersion.cmake
        cmake/chatdCAF.cmake DESTINATION ${chatd_cmake_dir} COMPONENT development)

install(TARGETS chatd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
if(CHATD_BUILD_TOOLS)
  install(TARGETS chatctl chatd-usersig chat-loadgen chat-bots
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
endif()

set(chatd_share_dir ${CMAKE_INSTALL_DATADIR}/chatd)
install(FILES configs/chatd.toml configs/README.md DESTINATION ${chatd_share_dir} COMPONENT server)
install(DIRECTORY configs/prometheus configs/grafana DESTINATION ${chatd_share_dir} COMPONENT server)
