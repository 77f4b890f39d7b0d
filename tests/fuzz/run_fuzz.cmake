# Runs one libFuzzer target for a fixed time on a corpus in the build tree
# (see CMakeLists.txt here). cmake -DFUZZER=exe -DSEEDS=dir -DCORPUS=dir
# -DARTIFACTS=dir -DSECONDS=n -P run_fuzz.cmake; fails when the target finds
# a crash, a leak, a timeout or an input over the memory limit.
foreach(var FUZZER SEEDS CORPUS ARTIFACTS SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz.cmake: -D${var}= missing")
  endif()
endforeach()

# The seeds are copied in each run (a new seed in the source tree counts at
# once); what earlier runs found stays.
file(MAKE_DIRECTORY ${CORPUS} ${ARTIFACTS})
if(IS_DIRECTORY ${SEEDS})
  file(COPY ${SEEDS}/ DESTINATION ${CORPUS})
endif()

get_filename_component(name ${FUZZER} NAME)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${ARTIFACTS}/${name}- ${CORPUS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${name} failed (${rc}): the input is in ${ARTIFACTS}/${name}-* "
                      "(libFuzzer names it above). Reproduce with: ${FUZZER} <that file>; "
                      "once fixed, add it to ${SEEDS}/ as a regression input.")
endif()
