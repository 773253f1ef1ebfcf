# Install rules and the Debian package (CPack DEB), included at the end of the top-level file.
#
#   cmake --install build --prefix /usr/local     # the files below, under any prefix
#   cd build && cpack -G DEB                      # framehive_<version>_amd64.deb, prefix /usr
#
# What goes where (relative to the prefix; /usr in the package):
#   bin/framehive-{sender,receiver,master,worker,ctl}
#   lib/systemd/system/framehive-{master,receiver,worker}.service, framehive-sender@.service
#     (their ExecStart names /usr/bin: they are written for the package)
#   share/framehive/examples/{master,receiver,worker,sender-example}.env: commented examples of
#     the units' environment files /etc/framehive/*.env. Not under share/doc: the postinst
#     copies master.env from here, and Debian allows removing share/doc (dpkg path-exclude).
#   share/doc/framehive/: README.md and docs/
# The package ships nothing under /etc: its maintainer scripts (packaging/debian/) create the
# framehive user, /etc/framehive, the secrets and master.env (docs/operations.md, "Deployment
# with systemd").
include(GNUInstallDirs)

set(FH_PACKAGE_MAINTAINER "framehive developers <framehive@localhost>"
  CACHE STRING "The Maintainer field of the Debian package")

install(TARGETS framehive-sender framehive-receiver framehive-master framehive-worker framehive-ctl
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(fh_units
  framehive-master.service
  framehive-receiver.service
  framehive-worker.service
  framehive-sender@.service)
list(TRANSFORM fh_units PREPEND ${CMAKE_SOURCE_DIR}/packaging/systemd/)
install(FILES ${fh_units} DESTINATION lib/systemd/system)

set(fh_env_examples master.env receiver.env worker.env sender-example.env)
list(TRANSFORM fh_env_examples PREPEND ${CMAKE_SOURCE_DIR}/packaging/env/)
install(FILES ${fh_env_examples} DESTINATION ${CMAKE_INSTALL_DATADIR}/framehive/examples)

file(GLOB fh_docs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md ${CMAKE_SOURCE_DIR}/docs/*.yaml)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${fh_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME framehive)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${FH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed video analytics: UDP camera frames, OpenCV detector workers")
set(CPACK_PACKAGE_DESCRIPTION
  "Camera machines publish video frames as UDP datagrams (framehive-sender); a receiver\n"
  "reassembles them and hands them to a master, which queues them as tasks for OpenCV\n"
  "detector workers (HOG, Haar cascades, DNN) and keeps the results in SQLite.\n"
  "Includes systemd units for each program and framehive-ctl.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # framehive_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# The shared libraries' packages come from dpkg-shlibdeps (dpkg-dev); appended to these:
# passwd for the postinst's useradd and groupadd, procps for the master unit's ExecReload
# (/bin/kill -HUP: systemctl reload re-reads --events-config).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, procps")
# The worker's haar:NAME detectors read the cascades in /usr/share/opencv4/haarcascades.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "opencv-data")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
  ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
  ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
