# Installation beyond the programs and units, and the Debian package
# (cpack -G DEB; scripts/package builds it). docs/operations.md, Installing.

# Man pages, one per program.
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/shelfsync-collect.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/shelfsyncd.8 ${PROJECT_SOURCE_DIR}/docs/man/shelfsync.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The documentation and every example config.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "man" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/config/shelfsyncd.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/collectors DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        USE_SOURCE_PERMISSIONS)

# The daemon's config in SS_CONFIG_DIR, only where there is none yet: a
# `cmake --install` over an existing installation never overwrites an
# operator's file (in the .deb it is a conffile, which dpkg looks after).
install(CODE "
  set(_ss_conf \"\$ENV{DESTDIR}${SS_CONFIG_DIR}/shelfsyncd.json\")
  if(EXISTS \"\${_ss_conf}\")
    message(STATUS \"Kept (not overwritten): \${_ss_conf}\")
  else()
    file(INSTALL \"${PROJECT_SOURCE_DIR}/config/shelfsyncd.json\" DESTINATION \"${SS_CONFIG_DIR}\")
  endif()
")

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "shelfsync")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "shelfsync maintainers <shelfsync@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "public library statistics: collectors, daemon and PostgreSQL warehouse")
set(CPACK_PACKAGE_DESCRIPTION
    "shelfsync gathers the English public library core dataset from library management\nsystems (CSV exports, Koha, FOLIO, open data) with shelfsync-collect, delivers it over\nZeroMQ to shelfsyncd, which validates it and writes a PostgreSQL warehouse.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "admin")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The libraries' packages from what the programs link (dpkg-shlibdeps), and
# what the maintainer scripts use.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, postgresql-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles;${CMAKE_CURRENT_LIST_DIR}/debian/postinst;${CMAKE_CURRENT_LIST_DIR}/debian/prerm;${CMAKE_CURRENT_LIST_DIR}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
