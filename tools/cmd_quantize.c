/* erg quantize IN OUT TYPE: converts an F32/F16/BF16 GGUF as llama-quantize does. */
#include "tools/cli.h"

#include "model/quantize.h"

int cmd_quantize(cli_args *a) {
    const char *pos[3];
    int n_pos = 0;
    long long threads = 2;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            printf("usage: erg quantize IN.gguf OUT.gguf TYPE [-t THREADS]\n"
                   "  TYPE: f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_s q4_k_m q5_k_s "
                   "q5_k_m\n");
            return 0;
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (bad)
                return CLI_EXIT_USAGE;
            if (!cli_parse_int(v, 1, 64, &threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes 1..64 threads, not '%s'", v);
        } else if (a->argv[a->i][0] == '-' && a->argv[a->i][1]) {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        } else {
            if (n_pos == 3)
                return cli_error(a, CLI_EXIT_USAGE, "unexpected argument '%s'", a->argv[a->i]);
            pos[n_pos++] = a->argv[a->i++];
        }
    }
    if (n_pos != 3)
        return cli_error(a, CLI_EXIT_USAGE, "usage: erg quantize IN.gguf OUT.gguf TYPE");
    int ftype = erg_ftype_parse(pos[2]);
    if (ftype < 0)
        return cli_error(a, CLI_EXIT_USAGE, "unknown type '%s' (erg quantize --help lists them)",
                         pos[2]);
    erg_diag diag = {{0}};
    if (erg_quantize_file(NULL, pos[0], pos[1], (erg_ftype)ftype, (int)threads, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    printf("wrote %s (%s)\n", pos[1], erg_ftype_name((erg_ftype)ftype));
    return 0;
}
