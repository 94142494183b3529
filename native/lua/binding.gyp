{
  "targets": [
    {
      "target_name": "shardis_lua",
      "sources": ["src/engine.c", "src/ldb.c", "src/lua_struct.c", "src/lua_cmsgpack.c"],
      "include_dirs": ["/usr/include/lua5.1"],
      "cflags": ["-O2", "-std=gnu99", "-Wno-unused-parameter"],
      "libraries": ["-llua5.1-cjson", "-llua5.1-bitop", "-llua5.1", "-lm"]
    }
  ]
}
