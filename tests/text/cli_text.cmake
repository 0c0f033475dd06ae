# erg tokenize and erg run on a tiny model: with the real Qwen3 tokenizer
# (from the npm set-up of test_tokref) when it is there, else with the
# synthetic vocabulary. Ids and pieces, seeded runs that repeat, the speed
# line on stderr, and one clear error line for each mistake.
include(${CMAKE_CURRENT_LIST_DIR}/../cli/common.cmake)
file(MAKE_DIRECTORY ${WORK})
set(model ${WORK}/text.gguf)
if(EXISTS ${QWEN3_JSON})
  message("model: tiny qwen2 with the Qwen3 tokenizer of ${QWEN3_JSON}")
  erg_run(out err 0 mkmodel --preset tiny --arch qwen2 --n-embd 64 --n-ff 128 --type f16
          --tokenizer ${QWEN3_JSON} --out ${model})
  expect_match("${out}" "vocab 151669" "mkmodel --tokenizer")
  set(real TRUE)
else()
  message("model: tiny qwen2 with the synthetic vocabulary (no npm tokenizer)")
  erg_run(out err 0 mkmodel --preset tiny --arch qwen2 --type f16 --out ${model})
  set(real FALSE)
endif()

erg_run(ids err 0 tokenize -m ${model} --ids "Hello world")
if(real)
  expect_match("${ids}" "^9707,1879\n$" "Qwen3 ids of 'Hello world'")
else()
  expect_match("${ids}" "^[0-9]+(,[0-9]+)+\n$" "ids of 'Hello world'")
endif()
erg_run(table err 0 tokenize -m ${model} "<|im_start|>user\nhi<|im_end|>")
message("${table}")
expect_match("${table}" "'<\\|im_start\\|>'" "a control token whole")
expect_match("${table}" "'<\\|im_end\\|>'" "a control token whole")
erg_run(json err 0 tokenize -m ${model} -o json "a\tb")
expect_match("${json}" "\"piece\": \"[^\"]*\\\\t" "JSON escapes")
erg_run(out err 2 tokenize "no model")
expect_match("${err}" "^erg tokenize: -m MODEL is required\n$" "missing -m")

# Seeded sampling repeats; the speed goes to stderr.
set(run_args run -m ${model} -p "Once upon a time" -n 12 --seed 42 --temp 1.0 --ignore-eos)
erg_run(first err 0 ${run_args})
expect_match("${err}" "generated 12 tokens in [0-9.]+ s \\([0-9.]+ tokens/s\\)" "speed line")
expect_match("${err}" "seed 42" "seed in the speed line")
erg_run(second err 0 ${run_args})
if(NOT first STREQUAL second)
  message(FATAL_ERROR "seed 42 gave two texts:\n${first}\n${second}")
endif()
erg_run(out err 0 run -m ${model} -p "x" -n 4 --temp 0 --stop "never")
expect_match("${err}" "generated [1-4] tokens" "greedy run")

# Chat: the Qwen3 template is recognised as ChatML; the synthetic model has
# none, and the error names the flag.
if(real)
  erg_run(out err 0 run -m ${model} -p "Hi" -n 4 --chat --seed 1)
else()
  erg_run(out err 1 run -m ${model} -p "Hi" -n 4 --chat)
  expect_match("${err}" "^erg run: [^\n]*--chat-template NAME\n$" "no chat template")
endif()
erg_run(out err 0 run -m ${model} -p "Hi" -n 4 --chat-template chatml --seed 1)
erg_run(out err 1 run -m ${model} -p "Hi" --chat-template alpaca)
expect_match("${err}" "^erg run: unknown chat format 'alpaca' \\(built in: chatml, llama3, zephyr\\)\n$"
             "unknown chat format")
erg_run(out err 2 run -m ${model} -p "Hi" --top-p 2)
expect_match("${err}" "^erg run: --top-p takes 0..1, not '2'\n$" "bad --top-p")
