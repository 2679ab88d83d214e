# Loaded by scripts/peers/build-openamp.sh into the CMake build of openamp-system-reference's
# legacy_apps (as CMAKE_PROJECT_INCLUDE, i.e. right after its project() call). It changes no
# file of the sample: once every directory is configured (cmake_language DEFER), it
#  - compiles the sample's platform_info.c with platform_poll and metal_irq_register renamed
#    (see linux-sample-poll.c for why), for the two echo apps only;
#  - adds our linux-sample-poll.c (AMP_SAMPLE_POLL_C) to those apps;
#  - links libmetal's own dependencies (sysfs, pthread, rt), which a static libmetal.a needs
#    and the sample's CMake leaves to a shared libmetal.
cmake_minimum_required(VERSION 3.19)
if(NOT DEFINED AMP_SAMPLE_POLL_C)
  message(FATAL_ERROR "AMP_SAMPLE_POLL_C (path of linux-sample-poll.c) is not set")
endif()

function(amp_patch_sample_apps)
  set(_platform_info "${APPS_ROOT_DIR}/system/linux/machine/generic/platform_info.c")
  set(_patched 0)
  foreach(_app rpmsg-echo-static rpmsg-echo-ping-static)
    if(TARGET ${_app})
      target_sources(${_app} PRIVATE "${AMP_SAMPLE_POLL_C}")
      target_link_libraries(${_app} sysfs pthread rt)
      set_source_files_properties("${_platform_info}" TARGET_DIRECTORY ${_app} PROPERTIES
        COMPILE_DEFINITIONS "platform_poll=amp_sample_platform_poll;metal_irq_register=amp_sample_irq_register")
      math(EXPR _patched "${_patched} + 1")
    endif()
  endforeach()
  if(_patched EQUAL 0)
    message(FATAL_ERROR "linux-sample-poll.cmake: neither rpmsg-echo-static nor rpmsg-echo-ping-static exists; the sample's CMake changed")
  endif()
endfunction()

cmake_language(DEFER CALL amp_patch_sample_apps)
