/* shelfsync: the admin tool. Shares the daemon's warehouse code.
 *
 *   shelfsync check-config FILE...     validate daemon and collector configs
 *   shelfsync migrate --config FILE    apply the warehouse migrations
 *   shelfsync ref load|show|resolve    reference data (ss_ref.h)
 *   shelfsync ref alias add|list       authority name aliases (ss_ref.h)
 *   shelfsync quarantine list|show|replay  quarantined records (ss_quarantine.h)
 *   shelfsync source list|precedence   collector sources and their precedence (ss_precedence.h)
 *   shelfsync keygen PATH              write a CURVE key pair: PATH.key, PATH.pub
 *   shelfsync status [--json]          each source's last run, lag, rejects (ss_status.h)
 *   shelfsync trends --measure M       bucking services vs neighbours (ss_report.h)
 *   shelfsync report --authority GSS   one HTML page for a service (ss_report.h)
 *   shelfsync quality [--json]         the data-quality checks of core.quality_* (ss_quality.h)
 *   shelfsync ping [ENDPOINT]          the protocol's ping, from a collector host (ss_ping.h)
 *   shelfsync export --activity-return the Arts Council activity return (ss_export_activity.h)
 *   shelfsync export|serve             the open-data CSVs and their packages (ss_publish.h)
 *   shelfsync version
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "ss_config.h"
#include "ss_dataset.h"
#include "ss_date.h"
#include "ss_ddl.h"
#include "ss_export_activity.h"
#include "ss_log.h"
#include "ss_migrate.h"
#include "ss_ping.h"
#include "ss_proto.h"
#include "ss_publish.h"
#include "ss_quarantine.h"
#include "ss_ref.h"
#include "ss_report.h"
#include "ss_precedence.h"
#include "ss_quality.h"
#include "ss_secret.h"
#include "ss_status.h"
#include "ss_warehouse.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync check-config FILE...\n"
            "       shelfsync dataset-sql [DATASET...]\n"
            "       shelfsync migrate --config DAEMON-CONFIG\n"
            "       shelfsync ref load authorities|populations|neighbours FILE [--year N]"
            " --config DAEMON-CONFIG\n"
            "       shelfsync ref show --config DAEMON-CONFIG\n"
            "       shelfsync ref resolve NAME --config DAEMON-CONFIG\n"
            "       shelfsync ref alias add NAME CODE [--origin TEXT] --config DAEMON-CONFIG\n"
            "       shelfsync ref alias list [NAME] --config DAEMON-CONFIG\n"
            "       shelfsync quarantine list [--source S] [--dataset D] [--reason TEXT]"
            " [--since DATE] [--json] --config DAEMON-CONFIG\n"
            "       shelfsync quarantine show [ID] [--source S] [--dataset D] [--reason TEXT]"
            " [--since DATE] [--limit N] [--json] --config DAEMON-CONFIG\n"
            "       shelfsync quarantine replay [--source S] [--dataset D] [--reason TEXT]"
            " [--since DATE] [--dry-run] --config DAEMON-CONFIG\n"
            "       shelfsync source list --config DAEMON-CONFIG\n"
            "       shelfsync source precedence SOURCE N [--note TEXT] --config DAEMON-CONFIG\n"
            "       shelfsync keygen PATH    (writes PATH.key, mode 0600, and PATH.pub)\n"
            "       shelfsync status [--json] [--source NAME] [--stale-after DURATION]"
            " [--year YYYY-YY] --config DAEMON-CONFIG\n"
            "       shelfsync quality [--authority GSS] [--year YYYY-YY] [--dataset NAME]"
            " [--stale-after DURATION] [--json] --config DAEMON-CONFIG\n"
            "       shelfsync trends --measure MEASURE [--year YYYY-YY] [--age-group GROUP]"
            " [--json] --config DAEMON-CONFIG\n"
            "       shelfsync report --authority GSS-CODE --year YYYY-YY --out FILE.html"
            " --config DAEMON-CONFIG\n"
            "       shelfsync ping [--config COLLECTOR-OR-DAEMON-CONFIG] [--timeout MS]"
            " [--server-key Z85 --secret-key-file FILE] [ENDPOINT]\n"
            "       shelfsync export --activity-return --authority GSS[,GSS...]|all --year YYYY-YY"
            " [--out DIR|FILE.csv] --config DAEMON-CONFIG\n"
            "       shelfsync export --dataset NAME --authority GSS [--from YYYY-MM-DD]"
            " [--to YYYY-MM-DD] [--out FILE [--licence ID]] [--allow-empty]"
            " --config DAEMON-CONFIG\n"
            "           (without --out: the CSV to stdout, no datapackage.json)\n"
            "       shelfsync serve --listen HOST:PORT [--licence ID] --config DAEMON-CONFIG\n"
            "       shelfsync version\n");
}

/* A collector config is checked by shelfsync-collect --check-config: only
 * the collector links the source kinds, whose option tables say what "kind"
 * may be and what the kind's object holds. It is run from beside this
 * program, else from PATH. Returns its verdict (0 passed; 1 failed, its
 * message on stderr), or 127 when it could not be run. */
static int collector_check(const char *path)
{
    char self[4096], prog[4200];
    const char *run = "shelfsync-collect";
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash = n > 0 ? (self[n] = '\0', strrchr(self, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(prog, sizeof(prog), "%s/shelfsync-collect", self);
        if (access(prog, X_OK) == 0)
            run = prog;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execlp(run, run, "--check-config", "--config", path, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    if (!WIFEXITED(st))
        return 127;
    return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == 127 ? 127 : 1;
}

static int cmd_check_config(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        char err[2048];
        const char *kind = NULL;
        int rc = ss_config_check(argv[i], &kind, err, sizeof(err));
        int cc = kind && strcmp(kind, "collector") == 0 ? collector_check(argv[i]) : -1;
        if (cc == 127) {
            if (rc < 0)
                fprintf(stderr, "%s\n", err);
            fprintf(stderr,
                    "%s: \"kind\" and the kind's object are not checked: shelfsync-collect is "
                    "neither beside shelfsync nor on PATH; run \"shelfsync-collect --check-config "
                    "--config %s\" where the collector is installed\n",
                    argv[i], argv[i]);
            bad++;
        } else if (cc == 1 || rc < 0) {
            if (cc != 1)
                fprintf(stderr, "%s\n", err);
            bad++;
        } else {
            printf("%s: ok (%s config)\n", argv[i], kind ? kind : "?");
        }
    }
    return bad ? 1 : 0;
}

/* Prints the DDL the dataset definitions imply, to start a migration from. */
static int cmd_dataset_sql(int argc, char **argv)
{
    struct ss_buf out;
    const struct ss_dataset *const *all = ss_dataset_all();
    int rc = 0;
    ss_buf_init(&out, (size_t)1 << 24);
    for (size_t i = 0; all[i]; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], all[i]->name) == 0;
        if (wanted)
            ss_ddl_dataset(all[i], &out);
    }
    for (int a = 1; a < argc; a++)
        if (!ss_dataset_find(argv[a])) {
            fprintf(stderr, "shelfsync: no dataset \"%s\"\n", argv[a]);
            rc = 1;
        }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    ss_buf_free(&out);
    return rc;
}

/* Loads the daemon config and connects to its warehouse: the handle, or
 * NULL with the reason logged. cfg is the caller's to free either way. */
static struct ss_wh *open_warehouse(const char *config, struct ss_daemon_config *cfg)
{
    char err[2048];
    memset(cfg, 0, sizeof(*cfg));
    if (ss_daemon_config_load(config, cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        return NULL;
    }
    struct ss_wh *wh = ss_wh_connect(cfg->db_conninfo, cfg->db_password_file, err, sizeof(err));
    if (!wh)
        ss_error("%s", err);
    return wh;
}

static int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    struct ss_daemon_config cfg;
    char err[2048];
    int c, status = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            usage(stderr);
            return 2;
        }
        config = optarg;
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    struct ss_wh *wh = open_warehouse(config, &cfg);
    if (!wh)
        goto out;
    int n = ss_migrate(ss_wh_conn(wh), err, sizeof(err));
    if (n < 0) {
        ss_error("%s", err);
    } else {
        printf("warehouse schema at version %d (%d migration%s applied)\n",
               ss_migrate_applied(ss_wh_conn(wh)), n, n == 1 ? "" : "s");
        status = 0;
    }
    ss_wh_free(wh);
out:
    ss_daemon_config_free(&cfg);
    return status;
}

/* ---- shelfsync ref: reference data (ss_ref.h) ---- */

static void ref_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync ref load authorities FILE.json --config DAEMON-CONFIG\n"
               "       shelfsync ref load populations FILE.csv [--year N] --config DAEMON-CONFIG\n"
               "       shelfsync ref load neighbours FILE.csv --config DAEMON-CONFIG\n"
               "       shelfsync ref show --config DAEMON-CONFIG\n"
               "       shelfsync ref resolve NAME [--at YYYY-MM-DD] --config DAEMON-CONFIG\n"
               "       shelfsync ref alias add NAME CODE [--origin TEXT] --config DAEMON-CONFIG\n"
               "       shelfsync ref alias list [NAME] --config DAEMON-CONFIG\n");
}

/* What `shelfsync ref` was asked to do. */
struct ref_args {
    const char *config, *origin, *args[4];
    char at[16]; /* --at, ISO; "" when not given */
    int nargs, year;
    int load, show, resolve, alias_add, alias_list;
};

/* Reads the options and operands: 0 to go on, or the exit status (0 for
 * --help, 2 for a usage error). */
static int ref_parse_args(int argc, char **argv, struct ref_args *a, int *status)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"year", required_argument, NULL, 'y'},
        {"at", required_argument, NULL, 'a'},     {"origin", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    char *end;
    int c;
    optind = 1;
    *status = 2;
    while ((c = getopt_long(argc, argv, "-c:y:a:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 1: /* an operand, in order */
            if (a->nargs == 4) {
                ref_usage(stderr);
                return 1;
            }
            a->args[a->nargs++] = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'o':
            a->origin = optarg;
            break;
        case 'y':
            errno = 0;
            a->year = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || a->year < 1900 || a->year > 2100) {
                fprintf(stderr, "shelfsync ref: --year \"%s\": expected a year such as 2024\n",
                        optarg);
                return 1;
            }
            break;
        case 'a': {
            struct ss_date d;
            const char *why;
            if (ss_parse_date(optarg, strlen(optarg), &d, &why) < 0) {
                fprintf(stderr, "shelfsync ref: --at \"%s\": %s\n", optarg, why);
                return 1;
            }
            snprintf(a->at, sizeof(a->at), "%04d-%02d-%02d", d.y, d.m, d.d);
            break;
        }
        case 'h':
            ref_usage(stdout);
            *status = 0;
            return 1;
        default:
            ref_usage(stderr);
            return 1;
        }
    }
    return 0;
}

/* Checks the command's shape: 0 to go on, or 1 (usage error, said). */
static int ref_check_args(struct ref_args *a)
{
    a->load = a->nargs == 3 && strcmp(a->args[0], "load") == 0;
    a->show = a->nargs == 1 && strcmp(a->args[0], "show") == 0;
    a->resolve = a->nargs == 2 && strcmp(a->args[0], "resolve") == 0;
    int alias = a->nargs >= 2 && strcmp(a->args[0], "alias") == 0;
    a->alias_add = alias && a->nargs == 4 && strcmp(a->args[1], "add") == 0;
    a->alias_list = alias && a->nargs <= 3 && strcmp(a->args[1], "list") == 0;
    if (a->load && strcmp(a->args[1], "authorities") != 0 &&
        strcmp(a->args[1], "populations") != 0 && strcmp(a->args[1], "neighbours") != 0) {
        fprintf(stderr,
                "shelfsync ref load: unknown kind \"%s\" (authorities, populations, "
                "neighbours)\n",
                a->args[1]);
        return 1;
    }
    int known = a->load || a->show || a->resolve || a->alias_add || a->alias_list;
    if (!known || !a->config) {
        if (!a->config && known)
            fprintf(stderr, "shelfsync ref: --config DAEMON-CONFIG is required\n");
        ref_usage(stderr);
        return 1;
    }
    if (a->at[0] && !a->resolve) {
        fprintf(stderr, "shelfsync ref: --at applies to `ref resolve` only\n");
        return 1;
    }
    if (a->origin && !a->alias_add) {
        fprintf(stderr, "shelfsync ref: --origin applies to `ref alias add` only\n");
        return 1;
    }
    if (a->year && !(a->load && strcmp(a->args[1], "populations") == 0)) {
        fprintf(stderr, "shelfsync ref: --year applies to `ref load populations` only\n");
        return 1;
    }
    return 0;
}

/* Runs a checked command against the warehouse: the exit status. */
static int ref_run(const struct ref_args *a, PGconn *conn)
{
    char err[4096] = "";
    int rc;
    if (a->show) {
        rc = ss_ref_show(conn, stdout, err, sizeof(err));
    } else if (a->alias_add) {
        rc = ss_ref_alias_add(conn, a->args[2], a->args[3], a->origin, stdout, err, sizeof(err));
        if (rc < 0)
            ss_error("%s (nothing changed)", err);
        return rc < 0 ? 1 : 0; /* already known: 0 */
    } else if (a->alias_list) {
        rc = ss_ref_alias_list(conn, a->nargs == 3 ? a->args[2] : NULL, stdout, err, sizeof(err));
    } else if (a->resolve) {
        char code[10];
        rc = ss_ref_resolve(conn, a->args[1], a->at[0] ? a->at : NULL, code, err, sizeof(err));
        if (rc >= 0) {
            printf("%s\n", rc ? code : "unknown");
            return rc == 1 ? 0 : 1; /* unknown: status 1, no error message */
        }
    } else if (strcmp(a->args[1], "authorities") == 0) {
        rc = ss_ref_load_authorities(conn, a->args[2], stdout, err, sizeof(err));
    } else if (strcmp(a->args[1], "populations") == 0) {
        rc = ss_ref_load_populations(conn, a->args[2], a->year, stdout, err, sizeof(err));
    } else {
        rc = ss_ref_load_neighbours(conn, a->args[2], stdout, err, sizeof(err));
    }
    if (rc < 0) {
        ss_error("%s%s", err, a->load ? " (nothing loaded)" : "");
        return 1;
    }
    return 0;
}

/* `shelfsync ref`: argv[0] is "ref". Exit status 0 done, 1 failed or name
 * unknown, 2 usage. */
static int cmd_ref(int argc, char **argv)
{
    struct ref_args a = {0};
    struct ss_daemon_config cfg;
    int status;
    if (ref_parse_args(argc, argv, &a, &status) != 0)
        return status;
    if (ref_check_args(&a) != 0)
        return 2;
    struct ss_wh *wh = open_warehouse(a.config, &cfg);
    status = wh ? ref_run(&a, ss_wh_conn(wh)) : 1;
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}

/* ---- shelfsync quarantine: quarantined records (ss_quarantine.h) ---- */

static void quarantine_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync quarantine list [--source S] [--dataset D] [--reason TEXT]"
               " [--since DATE] [--json] --config DAEMON-CONFIG\n"
               "       shelfsync quarantine show [ID] [--source S] [--dataset D] [--reason TEXT]"
               " [--since DATE] [--limit N] [--json] --config DAEMON-CONFIG\n"
               "       shelfsync quarantine replay [--source S] [--dataset D] [--reason TEXT]"
               " [--since DATE] [--dry-run] --config DAEMON-CONFIG\n"
               "  --reason: records whose reason contains TEXT (any case); --since: received on\n"
               "  or after DATE. replay runs the outstanding records through today's\n"
               "  validation and reference data: what passes loads, once.\n");
}

/* What `shelfsync quarantine` was asked to do. */
struct quarantine_args {
    const char *config, *args[2];
    struct ss_quar_filter f;
    char since[16];
    int nargs, json, dry_run;
};

/* A positive whole number for --limit or an ID: 0, or 1 (said). */
static int parse_count(const char *what, const char *s, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    if (errno || *end || end == s || *out < 1) {
        fprintf(stderr, "shelfsync quarantine: %s \"%s\": expected a whole number from 1\n", what,
                s);
        return 1;
    }
    return 0;
}

/* Reads and checks the options and operands: 0 to go on, or 1 with
 * *status the exit status (0 for --help, 2 for a usage error, said). */
static int quarantine_parse_args(int argc, char **argv, struct quarantine_args *a, int *status)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"source", required_argument, NULL, 's'},
        {"dataset", required_argument, NULL, 'd'}, {"reason", required_argument, NULL, 'r'},
        {"since", required_argument, NULL, 'S'},   {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},          {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    struct ss_date d;
    const char *why;
    int c;
    optind = 1;
    *status = 2;
    while ((c = getopt_long(argc, argv, "-c:s:d:r:S:l:jnh", opts, NULL)) != -1) {
        if (c == 1 && a->nargs < 2) {
            a->args[a->nargs++] = optarg;
        } else if (c == 'c') {
            a->config = optarg;
        } else if (c == 's') {
            a->f.source = optarg;
        } else if (c == 'd') {
            a->f.dataset = optarg;
        } else if (c == 'r') {
            a->f.reason = optarg;
        } else if (c == 'S') {
            if (ss_parse_date(optarg, strlen(optarg), &d, &why) < 0) {
                fprintf(stderr, "shelfsync quarantine: --since \"%s\": %s\n", optarg, why);
                return 1;
            }
            snprintf(a->since, sizeof(a->since), "%04d-%02d-%02d", d.y, d.m, d.d);
            a->f.since = a->since;
        } else if (c == 'l') {
            if (parse_count("--limit", optarg, &a->f.limit))
                return 1;
        } else if (c == 'j') {
            a->json = 1;
        } else if (c == 'n') {
            a->dry_run = 1;
        } else if (c == 'h') {
            quarantine_usage(stdout);
            *status = 0;
            return 1;
        } else {
            quarantine_usage(stderr);
            return 1;
        }
    }
    const char *cmd = a->nargs ? a->args[0] : "";
    int list = strcmp(cmd, "list") == 0, show = strcmp(cmd, "show") == 0,
        replay = strcmp(cmd, "replay") == 0;
    if (show && a->nargs == 2 && parse_count("ID", a->args[1], &a->f.id))
        return 1;
    if ((!list && !show && !replay) || (a->nargs == 2 && !show) || !a->config) {
        if (!a->config && (list || show || replay))
            fprintf(stderr, "shelfsync quarantine: --config DAEMON-CONFIG is required\n");
        quarantine_usage(stderr);
        return 1;
    }
    const char *wrong = a->f.limit && !show     ? "--limit applies to `quarantine show` only"
                        : a->json && replay     ? "--json applies to `quarantine list` and `show`"
                        : a->dry_run && !replay ? "--dry-run applies to `quarantine replay` only"
                                                : NULL;
    if (wrong) {
        fprintf(stderr, "shelfsync quarantine: %s\n", wrong);
        return 1;
    }
    return 0;
}

/* `shelfsync quarantine`: argv[0] is "quarantine". Exit status 0 done, 1
 * failed, 2 usage. */
static int cmd_quarantine(int argc, char **argv)
{
    struct quarantine_args a = {0};
    struct ss_daemon_config cfg;
    char err[2048] = "";
    int status, rc;
    if (quarantine_parse_args(argc, argv, &a, &status) != 0)
        return status;
    struct ss_wh *wh = open_warehouse(a.config, &cfg);
    if (!wh) {
        ss_daemon_config_free(&cfg);
        return 1;
    }
    PGconn *conn = ss_wh_conn(wh);
    if (strcmp(a.args[0], "list") == 0)
        rc = ss_quarantine_list(conn, &a.f, a.json, stdout, err, sizeof(err));
    else if (strcmp(a.args[0], "show") == 0)
        rc = ss_quarantine_show(conn, &a.f, a.json, stdout, err, sizeof(err));
    else if ((rc = ss_wh_prepare(wh, err, sizeof(err))) == 0)
        rc = ss_quarantine_replay(wh, &cfg, &a.f, a.dry_run, stdout, err, sizeof(err));
    if (rc < 0)
        ss_error("%s", err);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}

/* ---- shelfsync source: collector sources and their precedence (ss_precedence.h) ---- */

static void source_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync source list --config DAEMON-CONFIG\n"
               "       shelfsync source precedence SOURCE N [--note TEXT] --config DAEMON-CONFIG\n"
               "  N: an integer (a negative one after --: precedence SOURCE -- -1); when two\n"
               "  sources send the same fact, the higher wins (equal: the value already there\n"
               "  stays). Setting it re-resolves the facts at once.\n");
}

/* What `shelfsync source` was asked to do. */
struct source_args {
    const char *config, *note, *args[3];
    int nargs, list, precedence;
    long n;
};

/* Reads and checks the options and operands: 0 to go on, or 1 with
 * *status the exit status (0 for --help, 2 for a usage error, said). */
static int source_parse_args(int argc, char **argv, struct source_args *a, int *status)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"note", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char *end;
    int c;
    optind = 1;
    *status = 2;
    while ((c = getopt_long(argc, argv, "-c:n:h", opts, NULL)) != -1) {
        if (c == 1 && a->nargs < 3) {
            a->args[a->nargs++] = optarg;
        } else if (c == 1) {
            source_usage(stderr);
            return 1;
        } else if (c == 'c') {
            a->config = optarg;
        } else if (c == 'n') {
            a->note = optarg;
        } else if (c == 'h') {
            source_usage(stdout);
            *status = 0;
            return 1;
        } else {
            source_usage(stderr);
            return 1;
        }
    }
    /* After "--" (a negative N: `source precedence NAME -- -1`). */
    for (; optind < argc; optind++) {
        if (a->nargs == 3) {
            source_usage(stderr);
            return 1;
        }
        a->args[a->nargs++] = argv[optind];
    }
    a->list = a->nargs == 1 && strcmp(a->args[0], "list") == 0;
    a->precedence = a->nargs == 3 && strcmp(a->args[0], "precedence") == 0;
    if (a->precedence) {
        errno = 0;
        a->n = strtol(a->args[2], &end, 10);
        if (errno || *end || end == a->args[2] || a->n < -1000000 || a->n > 1000000) {
            fprintf(stderr,
                    "shelfsync source precedence: \"%s\": expected an integer between "
                    "-1000000 and 1000000\n",
                    a->args[2]);
            return 1;
        }
    }
    if ((!a->list && !a->precedence) || !a->config || (a->note && !a->precedence)) {
        if (!a->config && (a->list || a->precedence))
            fprintf(stderr, "shelfsync source: --config DAEMON-CONFIG is required\n");
        else if (a->note && a->list)
            fprintf(stderr, "shelfsync source: --note applies to `source precedence` only\n");
        source_usage(stderr);
        return 1;
    }
    return 0;
}

/* `shelfsync source`: argv[0] is "source". Exit status 0 done, 1 failed
 * (an unknown source included), 2 usage. */
static int cmd_source(int argc, char **argv)
{
    struct source_args a = {0};
    struct ss_daemon_config cfg;
    char err[2048] = "";
    int status, rc;
    if (source_parse_args(argc, argv, &a, &status) != 0)
        return status;
    struct ss_wh *wh = open_warehouse(a.config, &cfg);
    if (!wh) {
        ss_daemon_config_free(&cfg);
        return 1;
    }
    if (a.list)
        rc = ss_precedence_list(ss_wh_conn(wh), stdout, err, sizeof(err));
    else
        rc = ss_precedence_set(ss_wh_conn(wh), a.args[1], (int)a.n, a.note, stdout, err,
                               sizeof(err));
    if (rc < 0)
        ss_error("%s%s", err, a.precedence ? " (nothing changed)" : "");
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}

/* Writes text to a new file of the given mode; never replaces one. 0, or
 * -errno of the call that failed (said on stderr). */
static int write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "shelfsync keygen: %s: %s%s\n", path, strerror(e),
                e == EEXIST ? " (refusing to overwrite a key: remove it first)" : "");
        return -e;
    }
    size_t len = strlen(text);
    /* The umask may have taken bits away (or not): say exactly. A short
     * write sets no errno: it is EIO. */
    errno = 0;
    if (fchmod(fd, mode) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        int e = errno ? errno : EIO;
        fprintf(stderr, "shelfsync keygen: %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
        return -e;
    }
    if (close(fd) < 0) {
        int e = errno;
        fprintf(stderr, "shelfsync keygen: %s: %s\n", path, strerror(e));
        unlink(path);
        return -e;
    }
    return 0;
}

/* A CURVE key pair in Z85: the secret for the daemon's curve.secret_key_file
 * or a collector's daemon.secret_key_file, the public key for the other
 * side (the collector's daemon.server_public_key, or a line of the daemon's
 * allow file). */
static int cmd_keygen(int argc, char **argv)
{
    char pub[41], secret[41], pubpath[4096], keypath[4096], line[64];
    int rc = 1;
    if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    if (!zmq_has("curve")) {
        fprintf(stderr, "shelfsync keygen: this libzmq has no CURVE support\n");
        return 1;
    }
    if ((size_t)snprintf(keypath, sizeof(keypath), "%s.key", argv[1]) >= sizeof(keypath) ||
        (size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", argv[1]) >= sizeof(pubpath)) {
        fprintf(stderr, "shelfsync keygen: path too long\n");
        return 2;
    }
    if (access(keypath, F_OK) == 0 || access(pubpath, F_OK) == 0) {
        fprintf(stderr, "shelfsync keygen: %s or %s exists: refusing to overwrite a key\n", keypath,
                pubpath);
        return 1;
    }
    if (zmq_curve_keypair(pub, secret) < 0) {
        fprintf(stderr, "shelfsync keygen: cannot make a key pair: %s\n", zmq_strerror(errno));
        return 1;
    }
    snprintf(line, sizeof(line), "%s\n", secret);
    if (write_new(keypath, line, 0600) < 0)
        goto out;
    snprintf(line, sizeof(line), "%s\n", pub);
    if (write_new(pubpath, line, 0644) < 0) {
        unlink(keypath);
        goto out;
    }
    printf("%s\n", pub);
    fprintf(stderr, "shelfsync keygen: wrote %s (secret, mode 0600) and %s (public)\n", keypath,
            pubpath);
    rc = 0;
out:
    explicit_bzero(secret, sizeof(secret));
    explicit_bzero(line, sizeof(line));
    return rc;
}

/* ---- shelfsync status: each source's runs, lag and rejects (ss_status.h) ---- */

static void status_usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync status [--json] [--source NAME] [--stale-after DURATION]\n"
            "                        [--year YYYY-YY] --config DAEMON-CONFIG\n"
            "  DURATION: 90s, 45m, 36h, 2d, 1w (default: twice the source's usual interval\n"
            "  between runs, at least 1h; 8d without history). Exit status: 0 all sources\n"
            "  ok; %d a source's last run failed; %d a source is stale; %d no run recorded;\n"
            "  1 error; 2 usage.\n",
            SS_STATUS_FAILED, SS_STATUS_STALE, SS_STATUS_NOSOURCE);
}

/* Reads status's options: 0 to go on, or 1 with *status the exit status
 * (0 for --help, 2 for a usage error, said). */
static int status_parse_args(int argc, char **argv, struct ss_status_opts *o, const char **config,
                             int *json, int *status)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"source", required_argument, NULL, 's'},
                                         {"stale-after", required_argument, NULL, 'a'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, y1, y2, used = 0;
    optind = 1;
    *status = 2;
    while ((c = getopt_long(argc, argv, "c:s:a:y:jh", opts, NULL)) != -1) {
        if (c == 'c') {
            *config = optarg;
        } else if (c == 's') {
            o->source = optarg;
        } else if (c == 'j') {
            *json = 1;
        } else if (c == 'a') {
            if (ss_status_parse_duration(optarg, &o->stale_after_s) < 0) {
                fprintf(stderr,
                        "shelfsync status: --stale-after \"%s\": expected a duration such as "
                        "90s, 45m, 36h, 2d or 1w\n",
                        optarg);
                return 1;
            }
        } else if (c == 'y') {
            if (sscanf(optarg, "%4d-%2d%n", &y1, &y2, &used) != 2 || optarg[used] || y1 < 1900 ||
                y1 > 2100 || y2 != (y1 + 1) % 100) {
                fprintf(stderr,
                        "shelfsync status: --year \"%s\": expected a financial year such as "
                        "2024-25\n",
                        optarg);
                return 1;
            }
            o->fy_start = y1;
        } else if (c == 'h') {
            status_usage(stdout);
            *status = 0;
            return 1;
        } else {
            status_usage(stderr);
            return 1;
        }
    }
    if (optind < argc || !*config) {
        if (!*config)
            fprintf(stderr, "shelfsync status: --config DAEMON-CONFIG is required\n");
        status_usage(stderr);
        return 1;
    }
    return 0;
}

/* `shelfsync status`: argv[0] is "status". Exit status as status_usage. */
static int cmd_status(int argc, char **argv)
{
    struct ss_status_opts o = {0};
    struct ss_daemon_config cfg;
    const char *config = NULL;
    char err[2048];
    int json = 0, status;
    json_t *doc = NULL;
    if (status_parse_args(argc, argv, &o, &config, &json, &status) != 0)
        return status;
    struct ss_wh *wh = open_warehouse(config, &cfg);
    status = 1;
    if (wh && ss_status_collect(ss_wh_conn(wh), &o, &doc, err, sizeof(err)) < 0)
        ss_error("%s", err);
    else if (wh) {
        status = (int)json_integer_value(json_object_get(doc, "exit_status"));
        if (json) {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            ss_status_print(doc, stdout);
        }
        if (status == SS_STATUS_NOSOURCE && o.source)
            fprintf(stderr, "shelfsync status: no run of source \"%s\" is recorded\n", o.source);
    }
    json_decref(doc);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}

/* ---- shelfsync export --activity-return: the Arts Council return (ss_export_activity.h) ---- */

static void export_activity_usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync export --activity-return --authority GSS[,GSS...]|all\n"
            "                        --year YYYY-YY [--out DIR|FILE.csv] --config DAEMON-CONFIG\n"
            "  The Arts Council England activity return of the authorities (--authority may\n"
            "  be given several times) for the financial year, from the warehouse, in the\n"
            "  published long form: --out DIR writes loans.csv, users.csv, events.csv,\n"
            "  event_attendance.csv, visits.csv, computers.csv, wifi.csv and\n"
            "  click_and_collect.csv there; --out FILE.csv, or no --out (standard output),\n"
            "  one combined file (Measure,Authority,Breakdown,Age group,Period,Count). A\n"
            "  period not reported has no row. What each year rests on goes to stderr.\n"
            "  Exit status: 0 written; 1 error (nothing written for an unknown authority);\n"
            "  2 usage.\n");
}

/* Adds the comma-separated codes of arg to a (all: every authority, no
 * code): 0, or 1 past the bound (said). */
static int export_add_authorities(char *arg, const char **codes, size_t *n, int *all)
{
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "all") == 0) {
            *all = 1;
            continue;
        }
        if (*n == SS_EXPORT_ACTIVITY_MAX_AUTHORITIES) {
            fprintf(stderr, "shelfsync export: more than %d authorities: use --authority all\n",
                    SS_EXPORT_ACTIVITY_MAX_AUTHORITIES);
            return 1;
        }
        codes[(*n)++] = tok;
    }
    return 0;
}

/* `shelfsync export --activity-return`: argv[0] is "export". Exit status
 * as export_activity_usage. */
static int cmd_export_activity(int argc, char **argv)
{
    static const struct option opts[] = {{"activity-return", no_argument, NULL, 'A'},
                                         {"authority", required_argument, NULL, 'a'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char *codes[SS_EXPORT_ACTIVITY_MAX_AUTHORITIES];
    struct ss_export_activity_opts o = {.authorities = codes};
    struct ss_daemon_config cfg;
    const char *config = NULL, *year = NULL;
    char err[2048] = "";
    int c, all = 0, any = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "Aa:y:o:c:h", opts, NULL)) != -1) {
        if (c == 'A') {
            continue;
        } else if (c == 'a') {
            any = 1;
            if (export_add_authorities(optarg, codes, &o.n_authorities, &all) != 0)
                return 2;
        } else if (c == 'y') {
            year = optarg;
        } else if (c == 'o') {
            o.out_path = optarg;
        } else if (c == 'c') {
            config = optarg;
        } else if (c == 'h') {
            export_activity_usage(stdout);
            return 0;
        } else {
            export_activity_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !config || !year || !any || (all && o.n_authorities) ||
        (!all && !o.n_authorities)) {
        if (!config)
            fprintf(stderr, "shelfsync export: --config DAEMON-CONFIG is required\n");
        else if (!year)
            fprintf(stderr, "shelfsync export: --year YYYY-YY is required\n");
        else if (!any || (!all && !o.n_authorities))
            fprintf(stderr, "shelfsync export: --authority GSS (or all) is required\n");
        else if (all && o.n_authorities)
            fprintf(stderr, "shelfsync export: --authority all and codes: give one or the other\n");
        export_activity_usage(stderr);
        return 2;
    }
    if (ss_export_activity_year(year, &o.fy_start) < 0) {
        fprintf(stderr,
                "shelfsync export: --year \"%s\": expected a financial year such as 2023-24\n",
                year);
        return 2;
    }
    struct ss_wh *wh = open_warehouse(config, &cfg);
    int rc = wh ? ss_export_activity(ss_wh_conn(wh), &o, stdout, stderr, err, sizeof(err)) : -1;
    if (wh && rc < 0)
        ss_error("export: %s", err);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}

/* `shelfsync export`: what to export is an option (--activity-return). */
static int cmd_export(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--activity-return") == 0)
            return cmd_export_activity(argc, argv);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            export_activity_usage(stdout); /* then the open-data export's own */
    return ss_publish_export_main(argc, argv);
}

/* ---- shelfsync quality: the data-quality checks (ss_quality.h) ---- */

static void quality_usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync quality [--authority GSS] [--year YYYY-YY] [--dataset NAME]\n"
            "                         [--stale-after DURATION] [--json] --config DAEMON-CONFIG\n"
            "  Runs every check of the core.quality_* views on the selection. Exit status:\n"
            "  %d nothing found (or info only); %d findings of severity error; %d warnings\n"
            "  only; %d the checks could not run; %d usage.\n",
            SS_QUALITY_OK, SS_QUALITY_ERRORS, SS_QUALITY_WARNINGS, SS_QUALITY_FAILED,
            SS_QUALITY_USAGE);
}

/* Reads quality's options: 0 to go on, or 1 with *status the exit status
 * (0 for --help, 2 for a usage error, said). */
static int quality_parse_args(int argc, char **argv, struct ss_quality_opts *o, const char **config,
                              int *json, int *status)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"authority", required_argument, NULL, 'a'},
                                         {"year", required_argument, NULL, 'y'},
                                         {"dataset", required_argument, NULL, 'd'},
                                         {"stale-after", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    *status = SS_QUALITY_USAGE;
    while ((c = getopt_long(argc, argv, "c:a:y:d:s:jh", opts, NULL)) != -1) {
        const char *bad = NULL;
        if (c == 'c') {
            *config = optarg;
        } else if (c == 'a') {
            o->authority = optarg;
            if (ss_quality_check_authority(optarg) < 0)
                bad = "expected an ONS GSS code such as E09000003";
        } else if (c == 'y') {
            o->year = optarg;
            if (ss_quality_check_year(optarg) < 0)
                bad = "expected a financial year such as 2023-24";
        } else if (c == 'd') {
            o->dataset = optarg;
            if (!ss_dataset_find(optarg))
                bad = "not a dataset (shelfsync dataset-sql lists them)";
        } else if (c == 's') {
            if (ss_status_parse_duration(optarg, &o->stale_after_s) < 0)
                bad = "expected a duration such as 90s, 45m, 36h, 2d or 1w";
        } else if (c == 'j') {
            *json = 1;
        } else if (c == 'h') {
            quality_usage(stdout);
            *status = 0;
            return 1;
        } else {
            quality_usage(stderr);
            return 1;
        }
        if (bad) {
            fprintf(stderr, "shelfsync quality: --%s \"%s\": %s\n",
                    c == 'a'   ? "authority"
                    : c == 'y' ? "year"
                    : c == 'd' ? "dataset"
                               : "stale-after",
                    optarg, bad);
            return 1;
        }
    }
    if (optind < argc || !*config) {
        if (!*config)
            fprintf(stderr, "shelfsync quality: --config DAEMON-CONFIG is required\n");
        quality_usage(stderr);
        return 1;
    }
    return 0;
}

/* `shelfsync quality`: argv[0] is "quality". Exit status as quality_usage. */
static int cmd_quality(int argc, char **argv)
{
    struct ss_quality_opts o = {0};
    struct ss_daemon_config cfg;
    const char *config = NULL;
    char err[2048];
    int json = 0, status;
    json_t *doc = NULL;
    if (quality_parse_args(argc, argv, &o, &config, &json, &status) != 0)
        return status;
    struct ss_wh *wh = open_warehouse(config, &cfg);
    status = SS_QUALITY_FAILED;
    if (wh && ss_quality_collect(ss_wh_conn(wh), &o, &doc, err, sizeof(err)) < 0) {
        ss_error("quality: %s", err);
    } else if (wh) {
        status = (int)json_integer_value(json_object_get(doc, "exit_status"));
        if (json) {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            ss_quality_print(doc, stdout);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            ss_error("quality: cannot write the output");
            status = SS_QUALITY_FAILED;
        }
    }
    json_decref(doc);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}

/* ---- shelfsync ping: the protocol's ping (ss_ping.h) ---- */

/* What `shelfsync ping` pings, and with which keys. */
struct ping_args {
    const char *config, *endpoint, *server_key, *secret_key_file;
    long timeout_ms;
};

/* Reads ping's options: 0 to go on, or 1 with *status the exit status. */
static int ping_parse_args(int argc, char **argv, struct ping_args *a, int *status)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"server-key", required_argument, NULL, 'k'},
                                         {"secret-key-file", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    char *end;
    optind = 1;
    *status = 2;
    a->timeout_ms = 5000;
    while ((c = getopt_long(argc, argv, "c:t:k:f:h", opts, NULL)) != -1) {
        if (c == 'c') {
            a->config = optarg;
        } else if (c == 'k') {
            a->server_key = optarg;
        } else if (c == 'f') {
            a->secret_key_file = optarg;
        } else if (c == 't') {
            errno = 0;
            a->timeout_ms = strtol(optarg, &end, 10);
            if (errno || *end || a->timeout_ms < 10 || a->timeout_ms > 600000) {
                fprintf(stderr, "shelfsync ping: --timeout \"%s\": milliseconds, 10..600000\n",
                        optarg);
                return 1;
            }
        } else {
            usage(c == 'h' ? stdout : stderr);
            *status = c == 'h' ? 0 : 2;
            return 1;
        }
    }
    if (optind < argc)
        a->endpoint = argv[optind++];
    if (optind < argc || (!a->config && !a->endpoint) || (a->server_key && !a->secret_key_file)) {
        if (a->server_key && !a->secret_key_file)
            fprintf(stderr, "shelfsync ping: --server-key needs --secret-key-file\n");
        usage(stderr);
        return 1;
    }
    return 0;
}

/* Pings one endpoint and says how it went: 0 answered, 1 not. */
static int ping_one(const struct ss_ping_opts *po)
{
    struct ss_ping_result r;
    char err[2048];
    if (ss_ping(po, &r, err, sizeof(err)) < 0) {
        fprintf(stderr, "shelfsync ping: %s\n", err);
        return 1;
    }
    printf("%s: pong in %.2f ms (connected in %.1f ms), protocol shelfsync/%d, %s%s%s\n",
           po->endpoint, r.rtt_ms, r.connect_ms, r.version,
           r.curve ? "CURVE authenticated as " : "no CURVE (plain ",
           r.curve ? r.public_key : (strncmp(po->endpoint, "ipc://", 6) == 0 ? "ipc" : "TCP"),
           r.curve ? "" : ")");
    return 0;
}

/* The daemon's public key from its curve.secret_key_file, for a ping from
 * the daemon's own host: 0, or 1 (said). */
static int daemon_public_key(const char *secret_file, char pub[41])
{
    char why[1024];
    char *secret = ss_secret_read(secret_file, why, sizeof(why));
    int bad = !secret || strlen(secret) != 40 || zmq_curve_public(pub, secret) < 0;
    if (bad)
        fprintf(stderr, "shelfsync ping: %s\n",
                secret ? "curve.secret_key_file: not a Z85 secret key" : why);
    ss_secret_free(secret);
    return bad;
}

/* `shelfsync ping`: argv[0] is "ping". With a collector config, its
 * endpoints and keys; with a daemon config, its listen endpoints (and with
 * CURVE, --secret-key-file for a key the allow file admits). Exit status 0
 * every endpoint answered, 1 one did not (the reason said), 2 usage or an
 * unreadable config. */
static int cmd_ping(int argc, char **argv)
{
    struct ping_args a = {0};
    struct ss_collector_config cc = {0};
    struct ss_daemon_config dc = {0};
    struct ss_ping_opts po = {0};
    const char *kind = NULL, *const *eps = NULL;
    char err[2048], pub[41];
    size_t neps = 0;
    int status;
    if (ping_parse_args(argc, argv, &a, &status) != 0)
        return status;
    po.timeout_ms = a.timeout_ms;
    po.server_public_key = a.server_key;
    po.secret_key_file = a.secret_key_file;
    status = 2;
    if (a.config && ss_config_check(a.config, &kind, err, sizeof(err)) < 0 && !kind) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    if (kind && strcmp(kind, "collector") == 0) {
        if (ss_collector_config_load(a.config, NULL, &cc, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
        eps = (const char *const *)cc.endpoints, neps = cc.nendpoints;
        po.source = cc.source;
        if (!a.server_key) {
            po.server_public_key = cc.server_public_key;
            po.secret_key_file = cc.secret_key_file;
        }
    } else if (kind) {
        if (ss_daemon_config_load(a.config, &dc, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            goto out;
        }
        eps = (const char *const *)dc.listen, neps = dc.nlisten;
        if (dc.curve_secret_key_file && !a.server_key) {
            if (!a.secret_key_file) {
                fprintf(stderr, "shelfsync ping: the daemon uses CURVE: give --secret-key-file "
                                "with a collector key its allow file admits\n");
                goto out;
            }
            if (daemon_public_key(dc.curve_secret_key_file, pub))
                goto out;
            po.server_public_key = pub;
        }
    }
    status = 0;
    if (a.endpoint) {
        po.endpoint = a.endpoint;
        status = ping_one(&po);
    } else {
        for (size_t i = 0; i < neps; i++) {
            po.endpoint = eps[i];
            status |= ping_one(&po);
        }
    }
out:
    explicit_bzero(pub, sizeof(pub));
    ss_collector_config_free(&cc);
    ss_daemon_config_free(&dc);
    return status;
}

int main(int argc, char **argv)
{
    ss_log_init("shelfsync", SS_LOG_INFO);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "check-config") == 0)
        return cmd_check_config(argc - 1, argv + 1);
    if (strcmp(argv[1], "dataset-sql") == 0)
        return cmd_dataset_sql(argc - 1, argv + 1);
    if (strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(argv[1], "ref") == 0)
        return cmd_ref(argc - 1, argv + 1);
    if (strcmp(argv[1], "source") == 0)
        return cmd_source(argc - 1, argv + 1);
    if (strcmp(argv[1], "quarantine") == 0)
        return cmd_quarantine(argc - 1, argv + 1);
    if (strcmp(argv[1], "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    if (strcmp(argv[1], "trends") == 0)
        return ss_report_trends_cmd(argc - 1, argv + 1, open_warehouse);
    if (strcmp(argv[1], "report") == 0)
        return ss_report_cmd(argc - 1, argv + 1, open_warehouse);
    if (strcmp(argv[1], "quality") == 0)
        return cmd_quality(argc - 1, argv + 1);
    if (strcmp(argv[1], "ping") == 0)
        return cmd_ping(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return ss_publish_serve_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("shelfsync %s (protocol %s, schema %d)\n", SS_VERSION, SS_PROTO_ID,
               ss_migrate_latest());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "shelfsync: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
