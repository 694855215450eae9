# cpack -G DEB (scripts/package-deb.sh): chatd_<version>_amd64.deb with the
# executables, the conffile /etc/chatd/chatd.toml (the default config with
# its state under /var/lib/chatd), the systemd unit, and the operator files
# under /usr/share/chatd. The /etc and /lib files belong to the `deb`
# component, which a plain `cmake --install` leaves out.

# The packaged config is the default one with an absolute state_dir, made
# here so that configs/chatd.toml stays the one source.
file(READ ${PROJECT_SOURCE_DIR}/configs/chatd.toml chatd_default_config)
string(REGEX REPLACE "state_dir = \"var\"[^\n]*"
       "state_dir = \"/var/lib/chatd\"     # StateDirectory= of chatd.service"
       chatd_packaged_config "${chatd_default_config}")
if(chatd_packaged_config STREQUAL chatd_default_config)
  message(FATAL_ERROR "cmake/Package.cmake: configs/chatd.toml has no state_dir = \"var\" line to replace")
endif()
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/packaging/chatd.toml
     CONTENT "# /etc/chatd/chatd.toml (chatd package). Change the demo app's secret_key\n# before exposing chatd; restart with `systemctl restart chatd` (it drains).\n${chatd_packaged_config}"
     @ONLY)

install(FILES ${PROJECT_BINARY_DIR}/packaging/chatd.toml DESTINATION /etc/chatd
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES packaging/deb/chatd.service DESTINATION /lib/systemd/system
        COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chatd)
set(CPACK_PACKAGE_VENDOR "chatd")
set(CPACK_PACKAGE_CONTACT "chatd maintainers <chatd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "chatd logs users in with Tencent-compatible UserSigs, enforces the max login\ninstances per user and platform, and keeps one-to-one messages on durable\nper-user timelines. Prometheus metrics, REST admin API, systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)  # the prefix CPACK_SET_DESTDIR installs under
# The conffile and the unit have absolute destinations.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
# One package with the executables, the operator files and the `deb` files;
# the headers and static libraries (`development`) are for cmake --install.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
