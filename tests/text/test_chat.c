/* Chat formats: recognising the templates of the families erg runs (as
 * their tokenizer_config.json files write them), refusing others, and the
 * prompts each format writes, whole or cut to the room given. */
#include "tests/test.h"

#include "model/chat.h"

/* The start of each family's published chat template. */
static const char qwen3[] =
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0].role == "
    "'system' %}\n        {{- messages[0].content + '\\n\\n' }}";
static const char qwen2[] = "{% for message in messages %}{% if loop.first and messages[0]['role'] "
                            "!= 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant."
                            "<|im_end|>\\n' }}{% endif %}";
static const char llama3[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
    "trim + '<|eot_id|>' %}";
static const char tinyllama[] =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + "
    "message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}";
static const char mistral[] = "{{ bos_token }}{% for message in messages %}{% if message['role'] "
                              "== 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}";

int main(void) {
    CHECK_EQ_INT(erg_chat_format_detect(qwen3), ERG_CHAT_CHATML);
    CHECK_EQ_INT(erg_chat_format_detect(qwen2), ERG_CHAT_CHATML);
    CHECK_EQ_INT(erg_chat_format_detect(llama3), ERG_CHAT_LLAMA3);
    CHECK_EQ_INT(erg_chat_format_detect(tinyllama), ERG_CHAT_ZEPHYR);
    CHECK_EQ_INT(erg_chat_format_detect(mistral), -1);
    CHECK_EQ_INT(erg_chat_format_detect(""), -1);
    CHECK_EQ_INT(erg_chat_format_parse("llama3"), ERG_CHAT_LLAMA3);
    CHECK_EQ_INT(erg_chat_format_parse("ChatML"), -1);

    erg_chat_message msgs[] = {
        {"user", "  What is 2+2?\n"}, {"assistant", "4"}, {"user", "And 3+3?"}};
    char buf[512];
    size_t n = erg_chat_apply(ERG_CHAT_LLAMA3, msgs, 3, true, buf, sizeof buf);
    const char *want = "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
                       "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n";
    CHECK_MSG(strcmp(buf, want) == 0, "llama3 wrote '%s'", buf);
    CHECK_EQ_INT(n, strlen(want));
    n = erg_chat_apply(ERG_CHAT_CHATML, msgs + 2, 1, false, buf, sizeof buf);
    CHECK(strcmp(buf, "<|im_start|>user\nAnd 3+3?<|im_end|>\n") == 0);
    /* Too little room: cut and terminated, the full length returned. */
    char small[8];
    n = erg_chat_apply(ERG_CHAT_ZEPHYR, msgs + 2, 1, true, small, sizeof small);
    CHECK_EQ_INT(n, strlen("<|user|>\nAnd 3+3?</s>\n<|assistant|>\n"));
    CHECK(strcmp(small, "<|user|") == 0);
    return erg_test_result("test_chat");
}
