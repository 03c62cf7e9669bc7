cmake_minimum_required(VERSION 3.24)
# Puts side by side, as files for compare_numbers, what a finished `dnabert finetune` claims and what
# its saved best model does:
#   printed.txt / logged.txt: "best at step S: <metric> V, dev loss L" as printed (RUN_OUTPUT, the
#     finetune test's command_output.txt) and as log.jsonl (LOG) recorded that step's evaluation;
#   logged_metrics.txt / evaluated_metrics.txt: every metric of that evaluation and what
#     `dnabert evaluate` of the saved model on the dev set wrote (EVALUATION).
# -DRUN_OUTPUT=file -DLOG=log.jsonl -DEVALUATION=eval.json -DOUT=folder
file(READ ${RUN_OUTPUT} printed)
if(NOT printed MATCHES "best at step ([0-9]+): ([a-z_]+) ([^,]+), dev loss ([^;]+);")
  message(FATAL_ERROR "${RUN_OUTPUT} has no 'best at step' line:\n${printed}")
endif()
set(step ${CMAKE_MATCH_1})
set(metric ${CMAKE_MATCH_2})
file(WRITE ${OUT}/printed.txt "step ${step} ${metric} ${CMAKE_MATCH_3} dev loss ${CMAKE_MATCH_4}\n")

# "name value" lines of the numeric members of a metrics object, in the JSON's (sorted) order.
function(metric_lines out json)
  set(lines "")
  string(JSON count LENGTH "${json}")
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON name MEMBER "${json}" ${i})
    string(JSON type TYPE "${json}" ${name})
    if(type STREQUAL "NUMBER")
      string(JSON value GET "${json}" ${name})
      string(APPEND lines "${name} ${value}\n")
    endif()
  endforeach()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

file(READ ${LOG} log)
string(REPLACE ";" "," log "${log}")  # one list element per line; no ';' matters in a number
string(REPLACE "\n" ";" log "${log}")
set(evaluation "")
foreach(line IN LISTS log)
  if(line MATCHES "\"eval_score\"")
    string(JSON logged_step GET "${line}" step)
    if(logged_step EQUAL step)
      set(evaluation "${line}")
    endif()
  endif()
endforeach()
if(evaluation STREQUAL "")
  message(FATAL_ERROR "${LOG} has no evaluation at step ${step}")
endif()
string(JSON metrics GET "${evaluation}" eval_metrics)
string(JSON value GET "${metrics}" ${metric})
string(JSON loss GET "${evaluation}" eval_loss)
file(WRITE ${OUT}/logged.txt "step ${step} ${metric} ${value} dev loss ${loss}\n")
metric_lines(logged "${metrics}")
file(WRITE ${OUT}/logged_metrics.txt "${logged}")
file(READ ${EVALUATION} evaluated)
metric_lines(evaluated "${evaluated}")
file(WRITE ${OUT}/evaluated_metrics.txt "${evaluated}")
message("step ${step}: ${metric} ${value}, dev loss ${loss}")
