# tests/packaging/run_consumer.cmake - configures, builds and runs a downstream project against
# ppghr, from a clean directory every time. Run by ctest (see CMakeLists.txt here) as
#   cmake -DMODE=find_package|subdirectory -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=...
#         -DPPGHR_SOURCE_DIR=... -DPPGHR_BINARY_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         [-DGENERATOR_PLATFORM= -DGENERATOR_TOOLSET= -DMAKE_PROGRAM= -DCXX_FLAGS= -DCONFIG=
#          -DEIGEN3_DIR= -DXTL_DIR= -DXSIMD_DIR= -DCTEST= -DNO_DEPS=ON] -P run_consumer.cmake
#
# find_package: `cmake --install` ppghr's build tree into WORK_DIR/staging, checks what was
#   installed, then builds the consumer with CMAKE_PREFIX_PATH=staging (package registries off)
#   and checks that ppghr was found there.
#   NO_DEPS=ON: ppghr is first configured afresh in WORK_DIR/ppghr with PPGHR_WITH_EIGEN=OFF and
#   xsimd + xtl hidden from the default PPGHR_WITH_XSIMD=AUTO (CMAKE_DISABLE_FIND_PACKAGE_*), and
#   that tree is installed; the consumer is configured with Eigen3, xsimd and xtl hidden too and
#   -DPPGHR_EXPECT_NO_DEPS=ON (it checks that ppghr::ppghr defines PPGHR_NO_EIGEN and PPGHR_NO_SIMD).
# subdirectory: builds the consumer, which add_subdirectory()s PPGHR_SOURCE_DIR, and checks that
#   none of ppghr's tests, benchmarks or examples were configured.
cmake_minimum_required(VERSION 3.16)

foreach(_var MODE CONSUMER_SOURCE_DIR WORK_DIR PPGHR_SOURCE_DIR PPGHR_BINARY_DIR GENERATOR CXX_COMPILER)
  if("${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${_var} is not set")
  endif()
endforeach()
if(NOT CTEST)
  get_filename_component(_cmake_bin "${CMAKE_COMMAND}" DIRECTORY)
  set(CTEST "${_cmake_bin}/ctest")
endif()

function(run_step what)
  message(STATUS "[${MODE} consumer] ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "[${MODE} consumer] ${what}: FAILED (${_rc})\n  command: ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_build "${WORK_DIR}/build")

# The generator's platform, toolset, make program and build type, appended to configure command `var`.
macro(append_generator_args var)
  if(GENERATOR_PLATFORM)
    list(APPEND ${var} -A "${GENERATOR_PLATFORM}")
  endif()
  if(GENERATOR_TOOLSET)
    list(APPEND ${var} -T "${GENERATOR_TOOLSET}")
  endif()
  if(MAKE_PROGRAM)
    list(APPEND ${var} "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(CONFIG)
    list(APPEND ${var} "-DCMAKE_BUILD_TYPE=${CONFIG}")
  endif()
endmacro()

set(_configure "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}" -B "${_build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
append_generator_args(_configure)
if(CONFIG)
  set(_config_args --config "${CONFIG}")
  set(_ctest_config -C "${CONFIG}")
endif()
# The dependencies ppghr itself was configured with.
if(EIGEN3_DIR)
  list(APPEND _configure "-DEigen3_DIR=${EIGEN3_DIR}")
endif()
if(XTL_DIR)
  list(APPEND _configure "-Dxtl_DIR=${XTL_DIR}")
endif()
if(XSIMD_DIR)
  list(APPEND _configure "-Dxsimd_DIR=${XSIMD_DIR}")
endif()

set(_hide_deps -DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON -DCMAKE_DISABLE_FIND_PACKAGE_xsimd=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_xtl=ON)

if(MODE STREQUAL "find_package")
  set(_staging "${WORK_DIR}/staging")
  set(_ppghr_build "${PPGHR_BINARY_DIR}")
  if(NO_DEPS)
    # ppghr without its optional dependencies: a configure of its own (header-only: nothing to build).
    set(_ppghr_build "${WORK_DIR}/ppghr")
    set(_ppghr_configure "${CMAKE_COMMAND}" -S "${PPGHR_SOURCE_DIR}" -B "${_ppghr_build}" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DPPGHR_BUILD_TESTS=OFF -DPPGHR_BUILD_BENCHMARKS=OFF
      -DPPGHR_BUILD_EXAMPLES=OFF -DPPGHR_INSTALL=ON -DPPGHR_WITH_EIGEN=OFF -DPPGHR_WITH_XSIMD=AUTO ${_hide_deps})
    append_generator_args(_ppghr_configure)
    run_step("configure ppghr with Eigen off and xsimd hidden" ${_ppghr_configure})
    list(APPEND _configure ${_hide_deps} -DPPGHR_EXPECT_NO_DEPS=ON)
  endif()
  run_step("install ppghr into ${_staging}"
    "${CMAKE_COMMAND}" --install "${_ppghr_build}" --prefix "${_staging}" ${_config_args})

  # What a package must hold, and must not: paths into this machine's source or build tree, or
  # flags of ppghr's own builds (warnings, sanitizers, ISA) leaking onto consumers.
  if(NOT EXISTS "${_staging}/include/ppghr/ppghr.hpp")
    message(FATAL_ERROR "install: ${_staging}/include/ppghr/ppghr.hpp is missing")
  endif()
  file(GLOB_RECURSE _config_files "${_staging}/*/ppghrConfig.cmake")
  if(NOT _config_files)
    message(FATAL_ERROR "install: no ppghrConfig.cmake under ${_staging}")
  endif()
  list(GET _config_files 0 _config_file)
  get_filename_component(_config_dir "${_config_file}" DIRECTORY)
  foreach(_required ppghrConfig.cmake ppghrConfigVersion.cmake ppghrTargets.cmake)
    if(NOT EXISTS "${_config_dir}/${_required}")
      message(FATAL_ERROR "install: ${_config_dir}/${_required} is missing")
    endif()
  endforeach()
  file(GLOB _installed_cmake "${_config_dir}/*.cmake")
  foreach(_file IN LISTS _installed_cmake)
    file(READ "${_file}" _text)
    foreach(_bad "${PPGHR_SOURCE_DIR}" "${PPGHR_BINARY_DIR}" "-march" "-mavx" "-Werror" "-fsanitize" "ppghr_project_flags")
      string(FIND "${_text}" "${_bad}" _at)
      if(NOT _at EQUAL -1)
        message(FATAL_ERROR "install: ${_file} contains '${_bad}'")
      endif()
    endforeach()
  endforeach()

  list(APPEND _configure "-DCMAKE_PREFIX_PATH=${_staging}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON)
  run_step("configure ${CONSUMER_SOURCE_DIR}" ${_configure})

  # It must be the staged package that was found, not another ppghr on this machine.
  file(STRINGS "${_build}/CMakeCache.txt" _found REGEX "^ppghr_DIR:")
  string(REGEX REPLACE "^ppghr_DIR:[A-Z]*=" "" _found "${_found}")
  get_filename_component(_found_real "${_found}" REALPATH)
  get_filename_component(_staging_real "${_staging}" REALPATH)
  string(FIND "${_found_real}/" "${_staging_real}/" _at)
  if(NOT _at EQUAL 0)
    message(FATAL_ERROR "find_package(ppghr) found '${_found}', not the staged install in ${_staging}")
  endif()
  message(STATUS "[${MODE} consumer] ppghr found in ${_found}")
elseif(MODE STREQUAL "subdirectory")
  list(APPEND _configure "-DPPGHR_SOURCE_DIR=${PPGHR_SOURCE_DIR}")
  run_step("configure ${CONSUMER_SOURCE_DIR}" ${_configure})
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run_step("build" "${CMAKE_COMMAND}" --build "${_build}" ${_config_args})

if(MODE STREQUAL "subdirectory")
  # Nothing of ppghr's own tests, benchmarks or examples may be configured or built.
  foreach(_dir tests benchmarks examples)
    if(EXISTS "${_build}/ppghr_build/${_dir}")
      message(FATAL_ERROR "add_subdirectory(ppghr) configured ppghr's ${_dir}/ (its options must default OFF when not top-level)")
    endif()
  endforeach()
endif()

run_step("run" "${CTEST}" -V --output-on-failure ${_ctest_config}
  WORKING_DIRECTORY "${_build}")
