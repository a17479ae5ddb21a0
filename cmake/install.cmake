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
# courier::json, in a file of its own: courierConfig.cmake loads it (and finds nlohmann-json)
# only for find_package(courier COMPONENTS json).
if(TARGET courier_json)
  install(TARGETS courier_json EXPORT courierJsonTargets)
  install(EXPORT courierJsonTargets NAMESPACE courier::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/courier)
endif()

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
# A static libcourier.a records none of its dependencies, so plain `pkg-config --cflags --libs
# courier` (no --static) must name them all; a shared one links them itself.
set(COURIER_PC_REQUIRES "openssl >= 3 zlib${COURIER_PC_EXTRA_REQUIRES}")
get_target_property(COURIER_LIBRARY_TYPE courier TYPE)
if(COURIER_LIBRARY_TYPE STREQUAL "STATIC_LIBRARY")
  set(COURIER_PC_REQUIRES_FIELD "Requires")
  set(COURIER_PC_LIBS " -lboost_url -lpthread")
  set(COURIER_PC_LIBS_PRIVATE "")
else()
  set(COURIER_PC_REQUIRES_FIELD "Requires.private")
  set(COURIER_PC_LIBS "")
  set(COURIER_PC_LIBS_PRIVATE " -lboost_url -lpthread")
endif()
configure_file(cmake/courier.pc.in ${CMAKE_CURRENT_BINARY_DIR}/courier.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/courier.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
