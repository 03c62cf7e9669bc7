cmake_minimum_required(VERSION 3.24)
# Checks an SVG written by `dnabert plot`: it parses as XML (xmllint), and headless Chromium renders
# it to a PNG that is not blank (png_nonblank). -DSVG=file -DPNG=out -DCHECKER=png_nonblank
# -DMIN_FRACTION=x -DPROFILE=dir (a fresh browser profile, so tests may run side by side).
find_program(XMLLINT xmllint)
if(NOT XMLLINT)
  message(FATAL_ERROR "xmllint not found: install the Debian package libxml2-utils to check the SVGs")
endif()
find_program(CHROMIUM NAMES chromium chromium-browser)
if(NOT CHROMIUM)
  message(FATAL_ERROR "chromium not found: install the Debian package chromium to render the SVGs")
endif()
if(NOT EXISTS ${SVG})
  message(FATAL_ERROR "${SVG} was not written")
endif()

execute_process(COMMAND ${XMLLINT} --noout ${SVG} RESULT_VARIABLE status ERROR_VARIABLE problems)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${SVG} is not well-formed XML:\n${problems}")
endif()

# The window is the picture's own size (its width/height attributes), so all of it is rendered.
file(READ ${SVG} text LIMIT 4096)
if(NOT text MATCHES "<svg [^>]*width=\"([0-9]+)[.0-9]*\" height=\"([0-9]+)[.0-9]*\"")
  message(FATAL_ERROR "${SVG}: no width/height on <svg>")
endif()
math(EXPR width "${CMAKE_MATCH_1} + 1")
math(EXPR height "${CMAKE_MATCH_2} + 1")

file(REMOVE ${PNG})
file(REMOVE_RECURSE ${PROFILE})
execute_process(
  COMMAND ${CHROMIUM} --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=${PROFILE}
          --screenshot=${PNG} --window-size=${width},${height} file://${SVG}
  RESULT_VARIABLE status OUTPUT_VARIABLE log ERROR_VARIABLE log TIMEOUT 60)
if(NOT status EQUAL 0 OR NOT EXISTS ${PNG})
  message(FATAL_ERROR "chromium could not render ${SVG} (${status}):\n${log}")
endif()
file(REMOVE_RECURSE ${PROFILE})

execute_process(COMMAND ${CHECKER} ${PNG} ${MIN_FRACTION} RESULT_VARIABLE status OUTPUT_VARIABLE report ERROR_VARIABLE report)
message(STATUS "${report}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the rendering of ${SVG} is blank or unreadable: ${report}")
endif()
