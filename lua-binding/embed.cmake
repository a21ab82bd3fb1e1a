# embed.cmake - turns the Lua glue chunks into one C header, at build time:
#   cmake -DDIR=glue -DCHUNKS=core,udp -DOUT=asok_glue.h -P embed.cmake
# DIR/<chunk>.lua becomes the byte array asok_glue_<chunk>; asok_glue_chunks
# lists them in the order given, with their chunk names ("=asok/<chunk>.lua").
string(REPLACE "," ";" chunks "${CHUNKS}")
set(text "/* generated from ${DIR}/{${CHUNKS}}.lua by embed.cmake: do not edit */\n")
set(list "")
foreach(chunk IN LISTS chunks)
  file(READ "${DIR}/${chunk}.lua" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
  string(APPEND text "static const unsigned char asok_glue_${chunk}[] = {\n${bytes}\n};\n")
  string(APPEND list "  {\"=asok/${chunk}.lua\", asok_glue_${chunk}, sizeof(asok_glue_${chunk})},\n")
endforeach()
string(APPEND text
  "/* asok_glue_chunks: the chunks in load order */\n"
  "static const struct { const char *name; const unsigned char *data; size_t size; }\n"
  "asok_glue_chunks[] = {\n${list}};\n")
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
