# package.cmake - what `cmake --install` puts where, and the Debian package
# (`make deb`) CPack makes of it.  Included by the top CMakeLists.txt.
#
# The layout is Debian's: linli in /usr/bin, the daemon linli-node in
# /usr/sbin, the systemd template unit in /lib/systemd/system, man pages,
# bash completion, the documentation in /usr/share/doc/linli (README.md,
# ARCHITECTURE.md, docs/*.md and deploy/README.md, with their places in the
# tree kept so that their references hold) and the sample configurations
# in /usr/share/doc/linli/examples, the web interface in
# /usr/share/linli/web.  /etc/linli is shipped empty: the
# samples are not conffiles, since a file there is a node that
# linli-node@NAME would start, and an edited sample would make every
# upgrade ask about it.  The maintainer scripts (deploy/debian/) create the
# linli user and group and /var/lib/linli.
#
# The package is made by CPack from this build rather than from a debian/
# directory with debhelper: the install rules above serve both, the
# package's version is PROJECT_VERSION, and packaging reuses the build
# the suite has just tested, so the package test takes seconds.
include(GNUInstallDirs)

set(LINLI_PKG_DIR ${CMAKE_SOURCE_DIR}/deploy/debian)

install(TARGETS linli-cli RUNTIME DESTINATION bin)
install(TARGETS linli-node RUNTIME DESTINATION sbin)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/linli-node@.service
        DESTINATION /lib/systemd/system)
install(DIRECTORY DESTINATION /etc/linli)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/bash-completion/linli
        DESTINATION share/bash-completion/completions)

# Man pages and the changelog, compressed as Debian wants them (-n: no name
# or time stamp, so the same source gives the same bytes).
set(LINLI_GZ_FILES
    docs/man/linli.1 docs/man/linli-node.8 docs/man/linli.conf.5 deploy/debian/changelog)
set(LINLI_GZ_OUT "")
foreach(f ${LINLI_GZ_FILES})
  get_filename_component(name ${f} NAME)
  set(out ${CMAKE_BINARY_DIR}/pkg/${name}.gz)
  add_custom_command(OUTPUT ${out}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/pkg
                     COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/${f} > ${out}
                     DEPENDS ${CMAKE_SOURCE_DIR}/${f} VERBATIM)
  list(APPEND LINLI_GZ_OUT ${out})
endforeach()
add_custom_target(linli-pkg-files ALL DEPENDS ${LINLI_GZ_OUT})
install(FILES ${CMAKE_BINARY_DIR}/pkg/linli.1.gz DESTINATION share/man/man1)
install(FILES ${CMAKE_BINARY_DIR}/pkg/linli-node.8.gz DESTINATION share/man/man8)
install(FILES ${CMAKE_BINARY_DIR}/pkg/linli.conf.5.gz DESTINATION share/man/man5)

set(LINLI_DOC share/doc/linli)
install(FILES ${CMAKE_BINARY_DIR}/pkg/changelog.gz ${LINLI_PKG_DIR}/copyright
              ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/ARCHITECTURE.md
        DESTINATION ${LINLI_DOC})
# Whatever documents docs/ holds (FORMAT, PROTOCOL, OPERATING, API...).
file(GLOB LINLI_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${LINLI_DOCS} DESTINATION ${LINLI_DOC}/docs)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/README.md DESTINATION ${LINLI_DOC}/deploy)
# The web interface linli-node serves (http_root's default).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION share/linli/web)
file(GLOB LINLI_SAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/linli-node.*.conf)
install(FILES ${LINLI_SAMPLES} DESTINATION ${LINLI_DOC}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME linli)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "linli developers <dev@linli.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline-first sync of community records as signed CRDT ops")
set(CPACK_PACKAGE_DESCRIPTION
    "linli keeps the records of villages and residents' committees (households,
integrity points, residents' requests, visit diaries) as signed CRDT
operations in RocksDB.  Every station works offline; linli-node gossips the
signed deltas over ZeroMQ (CURVE) to its street and district nodes, and the
linli command carries them as files where there is no network.  An auditor
verifies a record's whole history with the district's public key alone.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/deb)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries' packages come from dpkg-shlibdeps; adduser is what the
# postinst runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS bash-completion)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${LINLI_PKG_DIR}/postinst ${LINLI_PKG_DIR}/prerm ${LINLI_PKG_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
