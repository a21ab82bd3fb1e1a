# embed.cmake - turns a Lua source into a C header holding it as a byte
# array, at build time: cmake -DIN=asok.lua -DOUT=asok_glue.h -DNAME=asok_glue -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
  "/* generated from ${IN} by embed.cmake: do not edit */\n"
  "static const unsigned char ${NAME}[] = {\n${bytes}\n};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
