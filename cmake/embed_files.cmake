# Turns data files into a C table of name -> bytes, so a program carries the
# data it was built with and needs no data directory at run time.
# Run as: cmake -DOUT=file.c -DDIR=dir -DGLOB=*.csv -DARRAY=ss_ref_files
#               -DINCLUDE=ss_ref.h -DTYPE=ss_ref_file -P embed_files.cmake
# The generated array ends with an entry whose name is NULL; TYPE must have the
# members name, data and len in that order.
file(GLOB files "${DIR}/${GLOB}")
list(SORT files)
set(body "/* Generated from ${GLOB} files by cmake/embed_files.cmake. Do not edit. */\n#include \"${INCLUDE}\"\n\n")
set(table "const struct ${TYPE} ${ARRAY}[] = {\n")
set(i 0)
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(SIZE ${f} size)
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char f${i}[] = {${hex}0x00};\n")
  string(APPEND table "    {\"${name}\", f${i}, ${size}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND table "    {NULL, NULL, 0},\n};\n")
file(WRITE ${OUT}.tmp "${body}\n${table}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
