/* erg run -m MODEL -p PROMPT: generates text after a prompt and streams it
 * to stdout; the speed goes to stderr at the end. */
#include "tools/cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STOPS 16

static void usage(void) {
    printf("usage: erg run -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P]\n"
           "               [--min-p P] [--repeat-penalty R] [--presence-penalty P] [--seed S]\n"
           "               [--stop TEXT]... [--chat] [--chat-template NAME] [--system TEXT]\n"
           "               [--device D] [-t N] [-c N_CTX] [--show-special] [--ignore-eos]\n"
           "  -n N               most tokens to generate (default 128)\n"
           "  --temp T           0 is greedy (default 0.8); --top-k 40, --top-p 0.95,\n"
           "                     --min-p 0.05 by default, 0 turns each off\n"
           "  --seed S           the same seed gives the same text (default: from the clock,\n"
           "                     printed at the end)\n"
           "  --chat             format the prompt as a user turn with the model's chat format\n"
           "  --chat-template    chatml, llama3 or zephyr, when the model's is not recognised\n");
}

typedef struct run_opts {
    const char *model, *prompt, *device, *chat_template, *system;
    const char *stops[MAX_STOPS];
    size_t n_stops;
    long long n_predict, threads, n_ctx, top_k, seed;
    double temp, top_p, min_p, repeat_penalty, presence_penalty;
    bool chat, seed_set, show_special, ignore_eos;
} run_opts;

static bool parse_prob(const char *s, double *out) {
    return cli_parse_double(s, out) && *out >= 0 && *out <= 1;
}

static int parse(cli_args *a, run_opts *o) {
    const cli_common common = {.model = &o->model, .device = &o->device, .threads = &o->threads,
                               .n_ctx = &o->n_ctx};
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "-p", "--prompt", true, &v, &bad)) {
            o->prompt = v;
        } else if (cli_flag(a, "-n", "--n-predict", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1 << 20, &o->n_predict))
                return cli_error(a, CLI_EXIT_USAGE, "-n takes a token count, not '%s'", v);
        } else if (cli_flag(a, "--temp", NULL, true, &v, &bad)) {
            if (!bad && (!cli_parse_double(v, &o->temp) || o->temp < 0 || o->temp > 100))
                return cli_error(a, CLI_EXIT_USAGE, "--temp takes 0..100, not '%s'", v);
        } else if (cli_flag(a, "--top-k", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, INT32_MAX, &o->top_k))
                return cli_error(a, CLI_EXIT_USAGE, "--top-k takes a count, not '%s'", v);
        } else if (cli_flag(a, "--top-p", NULL, true, &v, &bad)) {
            if (!bad && !parse_prob(v, &o->top_p))
                return cli_error(a, CLI_EXIT_USAGE, "--top-p takes 0..1, not '%s'", v);
        } else if (cli_flag(a, "--min-p", NULL, true, &v, &bad)) {
            if (!bad && !parse_prob(v, &o->min_p))
                return cli_error(a, CLI_EXIT_USAGE, "--min-p takes 0..1, not '%s'", v);
        } else if (cli_flag(a, "--repeat-penalty", NULL, true, &v, &bad)) {
            if (!bad && (!cli_parse_double(v, &o->repeat_penalty) || o->repeat_penalty < 0))
                return cli_error(a, CLI_EXIT_USAGE, "--repeat-penalty takes a factor, not '%s'", v);
        } else if (cli_flag(a, "--presence-penalty", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_double(v, &o->presence_penalty))
                return cli_error(a, CLI_EXIT_USAGE, "--presence-penalty takes a number, not '%s'",
                                 v);
        } else if (cli_flag(a, "--seed", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, INT64_MAX, &o->seed))
                return cli_error(a, CLI_EXIT_USAGE, "--seed takes a number, not '%s'", v);
            o->seed_set = true;
        } else if (cli_flag(a, "--stop", NULL, true, &v, &bad)) {
            if (!bad && (o->n_stops == MAX_STOPS || !*v))
                return cli_error(a, CLI_EXIT_USAGE, "--stop takes non-empty text, %d at most",
                                 MAX_STOPS);
            if (!bad)
                o->stops[o->n_stops++] = v;
        } else if (cli_flag(a, "--chat", NULL, false, &v, &bad)) {
            o->chat = true;
        } else if (cli_flag(a, "--chat-template", NULL, true, &v, &bad)) {
            o->chat_template = v;
            o->chat = true;
        } else if (cli_flag(a, "--system", NULL, true, &v, &bad)) {
            o->system = v;
        } else if (cli_flag(a, "--show-special", NULL, false, &v, &bad)) {
            o->show_special = true;
        } else if (cli_flag(a, "--ignore-eos", NULL, false, &v, &bad)) {
            o->ignore_eos = true;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!o->model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    if (!o->prompt)
        return cli_error(a, CLI_EXIT_USAGE, "-p PROMPT is required");
    if (o->system && !o->chat)
        return cli_error(a, CLI_EXIT_USAGE, "--system needs --chat");
    return 0;
}

/* Ctrl-C stops generation through the abort callback: the text so far
 * and the speed line are still printed. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static bool should_abort(void *user) {
    (void)user;
    return interrupted != 0;
}

static bool print_text(void *user, const char *text, size_t len, int32_t token) {
    (void)user;
    (void)token;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

/* The prompt as text: as given, or formatted as a chat. NULL on error
 * (printed). */
static char *prompt_text(cli_args *a, const run_opts *o, erg_model *m) {
    if (!o->chat)
        return strdup(o->prompt);
    erg_chat_message msgs[2];
    size_t n = 0, len = 0;
    if (o->system)
        msgs[n++] = (erg_chat_message){"system", o->system};
    msgs[n++] = (erg_chat_message){"user", o->prompt};
    erg_model_chat_format(m, o->chat_template, msgs, n, true, NULL, 0, &len);
    char *buf = len ? malloc(len + 1) : NULL;
    if (buf &&
        erg_model_chat_format(m, o->chat_template, msgs, n, true, buf, len + 1, &len) == ERG_OK)
        return buf;
    free(buf);
    if (!len)
        cli_error(a, CLI_EXIT_FAIL, "%s%s", erg_model_last_error(m),
                  o->chat_template ? "" : "; pass --chat-template NAME");
    else
        cli_error(a, CLI_EXIT_FAIL, "out of memory for the prompt");
    return NULL;
}

static const char *stop_name(erg_stop_reason r) {
    static const char *const names[] = {"none",        "end of text",  "stop string",
                                        "token limit", "context full", "aborted"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

static int generate(cli_args *a, const run_opts *o, erg_model *m, const int32_t *ids, size_t n) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = o->device;
    so.n_ctx = (uint32_t)o->n_ctx;
    erg_session *s = NULL;
    if (erg_session_create(m, &so, &s) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
    erg_generate_options go = ERG_GENERATE_OPTIONS_INIT;
    go.n_predict = (uint32_t)o->n_predict;
    go.temperature = (float)o->temp;
    go.top_k = (uint32_t)o->top_k;
    go.top_p = (float)o->top_p;
    go.min_p = (float)o->min_p;
    go.repeat_penalty = (float)o->repeat_penalty;
    go.presence_penalty = (float)o->presence_penalty;
    go.seed = (uint64_t)o->seed;
    go.stop = o->stops;
    go.n_stop = o->n_stops;
    go.show_special = o->show_special;
    go.ignore_eos = o->ignore_eos;
    go.on_text = print_text;
    go.should_abort = should_abort;
    erg_generate_result r = {.struct_size = sizeof r};
    int rc = 0;
    void (*previous)(int) = signal(SIGINT, on_sigint);
    erg_status st = erg_generate(s, ids, n, &go, &r);
    signal(SIGINT, previous);
    if (st != ERG_OK) {
        printf("\n");
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_session_last_error(s));
    } else {
        printf("\n");
        fflush(stdout);
        fprintf(stderr,
                "erg run: prompt %u tokens in %.3f s (%.1f tokens/s), generated %u tokens in "
                "%.3f s (%.1f tokens/s) on %s; stopped: %s; seed %lld\n",
                r.n_prompt, r.prompt_seconds,
                r.prompt_seconds > 0 ? r.n_prompt / r.prompt_seconds : 0.0, r.n_generated,
                r.generate_seconds,
                r.generate_seconds > 0 ? r.n_generated / r.generate_seconds : 0.0,
                erg_session_device(s), stop_name(r.stop_reason), o->seed);
    }
    erg_session_destroy(s);
    return rc;
}

static int run(cli_args *a, const run_opts *o, erg_runtime *rt) {
    erg_model *m = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = CLI_EXIT_FAIL;
    const unsigned flags = ERG_TOKENIZE_ADD_SPECIAL | ERG_TOKENIZE_PARSE_SPECIAL;
    if (erg_model_load(rt, o->model, NULL, &m) != ERG_OK)
        cli_error(a, CLI_EXIT_FAIL, "%s", erg_runtime_last_error(rt));
    else if (!(text = prompt_text(a, o, m)))
        ; /* printed */
    else if (erg_model_tokenize(m, text, strlen(text), flags, NULL, 0, &n) != ERG_OK && n == 0)
        cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
    else if (n == 0)
        cli_error(a, CLI_EXIT_USAGE, "the prompt gives no tokens");
    else if (!(ids = malloc(n * sizeof *ids)))
        cli_error(a, CLI_EXIT_FAIL, "out of memory for %zu tokens", n);
    else if (erg_model_tokenize(m, text, strlen(text), flags, ids, n, &n) != ERG_OK)
        cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
    else
        rc = generate(a, o, m, ids, n);
    free(ids);
    free(text);
    erg_model_destroy(m);
    return rc;
}

int cmd_run(cli_args *a) {
    run_opts o = {.n_predict = 128, .temp = 0.8, .top_k = 40, .top_p = 0.95, .min_p = 0.05};
    int rc = parse(a, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (!o.seed_set)
        o.seed = (long long)(time(NULL) & 0x7FFFFFFF);
    erg_runtime *rt;
    rc = cli_runtime(a, (int)o.threads, &rt);
    if (rc == 0) {
        rc = run(a, &o, rt);
        erg_runtime_destroy(rt);
    }
    return rc;
}
