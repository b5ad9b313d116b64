# examples/mcu/cortex-m4f.cmake - CMake toolchain file: bare-metal Cortex-M4F with Debian's
# gcc-arm-none-eabi + libnewlib-arm-none-eabi (+ libstdc++-arm-none-eabi-newlib for the C++
# headers). Hard-float ABI on the single-precision FPU; no exceptions, no RTTI.
#
#   cmake -S examples/mcu -B build-mcu/m4 -DCMAKE_TOOLCHAIN_FILE=examples/mcu/cortex-m4f.cmake
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(_prefix arm-none-eabi-)
find_program(PPGHR_ARM_GXX ${_prefix}g++ REQUIRED)
set(CMAKE_CXX_COMPILER ${PPGHR_ARM_GXX})
set(CMAKE_C_COMPILER ${_prefix}gcc)
set(CMAKE_OBJCOPY ${_prefix}objcopy CACHE FILEPATH "")
set(CMAKE_SIZE ${_prefix}size CACHE FILEPATH "")

# Bare metal has no OS to link a test program against: try_compile builds a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(PPGHR_MCU_CPU_FLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb")
set(CMAKE_C_FLAGS_INIT "${PPGHR_MCU_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT
    "${PPGHR_MCU_CPU_FLAGS} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti -fno-threadsafe-statics")
# nano newlib (memcpy, memcmp, memset; expf and sqrtf from libm), our own start-up (no crt0).
set(CMAKE_EXE_LINKER_FLAGS_INIT "${PPGHR_MCU_CPU_FLAGS} --specs=nano.specs -nostartfiles -Wl,--gc-sections")
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
