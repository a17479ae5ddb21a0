include(CMakePackageConfigHelpers)

install(TARGETS courier EXPORT courierTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The optional stub backend (courier::testing), in the same export set.
if(TARGET courier_testing)
  install(TARGETS courier_testing EXPORT courierTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(DIRECTORY include/courier DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT courierTargets NAMESPACE courier:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/courier)

configure_package_config_file(cmake/courierConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/courierConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/courier)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/courierConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/courierConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/courierConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/courier)

# The .pc file finds its prefix from where it is installed, so --prefix at install time works.
file(RELATIVE_PATH COURIER_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" COURIER_PC_TO_PREFIX "${COURIER_PC_TO_PREFIX}")
configure_file(cmake/courier.pc.in ${CMAKE_CURRENT_BINARY_DIR}/courier.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/courier.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
