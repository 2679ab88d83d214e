# CMake toolchain file: Debian's arm-none-eabi-gcc for a bare-metal Cortex-M4 (Thumb-2, soft
# float, as QEMU mps2-an386 runs our firmware) with newlib-nano. Used by
# scripts/peers/build-openamp-cm4.sh to cross-build libmetal's "generic" system and open-amp.
set(CMAKE_SYSTEM_NAME Generic)
# libmetal picks lib/processor/<this>/ when it exists; the pinned one has no "arm", so it falls
# back to its generic cpu.h and atomic.h (C11 atomics, which gcc inlines for Cortex-M4).
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")

# No board support package here: compile checks build a static library instead of linking.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Each function and object in its own section, so the firmware's --gc-sections keeps only what
# it calls (a device-role remote uses a fraction of open-amp).
set(AMP_CM4_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -ffunction-sections -fdata-sections --specs=nano.specs")
set(CMAKE_C_FLAGS_INIT "${AMP_CM4_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${AMP_CM4_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

# Headers and libraries come from the paths we pass, never from the build machine's /usr.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE NEVER)
