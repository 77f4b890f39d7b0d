/* ss_publish: see ss_publish.h. */
#include "ss_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_config.h"
#include "ss_err.h"
#include "ss_export.h"
#include "ss_log.h"
#include "ss_serve.h"
#include "ss_warehouse.h"

void ss_publish_export_usage(FILE *f)
{
    fprintf(f,
            "usage: shelfsync export --dataset NAME --authority GSS [--from YYYY-MM-DD]"
            " [--to YYYY-MM-DD]\n"
            "                        [--out FILE [--licence ID]] [--allow-empty]"
            " --config DAEMON-CONFIG\n"
            "  Writes one authority's rows of one dataset as the public library open-data CSV\n"
            "  (the current schema's header, ISO dates, membership counts under 5 as x).\n"
            "  NAME: %s.\n"
            "  --from/--to  only count periods inside these days (not for the registers\n"
            "               service_points and mobile_stops)\n"
            "  --out FILE   write FILE and, beside it, datapackage.json (Frictionless Data\n"
            "               Package: licence, sources, period covered, bytes, SHA-256, the\n"
            "               Table Schema; one per directory: give each export its own)\n"
            "               without --out: the CSV to stdout, no datapackage.json is written\n"
            "  --licence ID the package's licence: %s (default OGL-UK-3.0)\n"
            "  --allow-empty  an empty selection writes the header alone (else exit 1)\n"
            "  Exit status: 0 written; 1 error (said); 2 usage.\n",
            ss_export_names(), ss_export_licences());
}

void ss_publish_serve_usage(FILE *f)
{
    fprintf(f, "usage: shelfsync serve --listen HOST:PORT [--licence ID] --config DAEMON-CONFIG\n"
               "  Serves the exports over HTTP, read-only: /export/ (index),\n"
               "  /export/DATASET/GSS.csv, /export/DATASET/GSS/datapackage.json; ETag and\n"
               "  Last-Modified, 304 for If-None-Match / If-Modified-Since. Runs until\n"
               "  SIGTERM. Listen on loopback (127.0.0.1:PORT) unless a proxy fronts it.\n"
               "  Exit status: 0 stopped; 1 error (said); 2 usage.\n");
}

static int load_config(const char *path, struct ss_daemon_config *cfg)
{
    char err[2048];
    memset(cfg, 0, sizeof(*cfg));
    if (ss_daemon_config_load(path, cfg, err, sizeof(err)) < 0) {
        ss_error("%s", err);
        return -1;
    }
    return 0;
}

static int to_file(void *arg, const char *p, size_t n)
{
    return fwrite(p, 1, n, arg) == n ? 0 : -errno;
}

/* Closes f (a .tmp) after syncing it and renames it over path. */
static int finish_file(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
    int rc = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = -errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        unlink(tmp);
    }
    return rc;
}

int ss_publish_export_main(int argc, char **argv)
{
    static const struct option opts[] = {{"dataset", required_argument, NULL, 'd'},
                                         {"authority", required_argument, NULL, 'a'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"licence", required_argument, NULL, 'l'},
                                         {"license", required_argument, NULL, 'l'},
                                         {"allow-empty", no_argument, NULL, 'e'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ss_export_opts o = {0};
    struct ss_export_info info;
    struct ss_daemon_config cfg;
    const char *config = NULL, *outp = NULL, *licence = NULL;
    char err[4096] = "", tmp[1100], dir[1100], dp[1200], dptmp[1300], name[1100];
    struct ss_buf pkg;
    struct ss_wh *wh = NULL;
    FILE *f = NULL;
    int c, analyst, rc, status = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o.dataset = optarg;
            break;
        case 'a':
            o.authority = optarg;
            break;
        case 'f':
            o.from = optarg;
            break;
        case 't':
            o.to = optarg;
            break;
        case 'o':
            outp = optarg;
            break;
        case 'l':
            licence = optarg;
            break;
        case 'e':
            o.allow_empty = 1;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            ss_publish_export_usage(stdout);
            return 0;
        default:
            ss_publish_export_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !config || !o.dataset || !o.authority) {
        fprintf(stderr, "shelfsync export: --dataset, --authority and --config are required\n");
        ss_publish_export_usage(stderr);
        return 2;
    }
    if (outp && strlen(outp) > 1000) {
        fprintf(stderr, "shelfsync export: --out: the path is too long\n");
        return 2;
    }
    if (licence && !outp) {
        fprintf(stderr, "shelfsync export: --licence is for the datapackage.json of --out\n");
        return 2;
    }
    if (licence && !ss_export_licence_known(licence)) {
        fprintf(stderr, "shelfsync export: unknown licence \"%s\": expected one of %s\n", licence,
                ss_export_licences());
        return 2;
    }
    if (!ss_export_known(o.dataset)) {
        ss_error("unknown dataset \"%s\": the datasets that can be exported are %s", o.dataset,
                 ss_export_names());
        return 1;
    }
    if (load_config(config, &cfg) < 0)
        return 1;
    ss_buf_init(&pkg, 1u << 20);
    wh = ss_wh_connect(cfg.db_conninfo, cfg.db_password_file, err, sizeof(err));
    if (!wh ||
        ss_export_readonly(ss_wh_conn(wh), "shelfsync export", &analyst, err, sizeof(err)) < 0)
        goto fail;
    /* Nothing is created before the selection is known to be good. */
    if (ss_export_stat(ss_wh_conn(wh), &o, &info, err, sizeof(err)) < 0)
        goto fail;
    if (outp) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", outp);
        f = fopen(tmp, "w");
        if (!f) {
            snprintf(err, sizeof(err), "%s: %s", tmp, strerror(errno));
            goto fail;
        }
    }
    rc = ss_export_csv(ss_wh_conn(wh), &o, to_file, f ? f : stdout, &info, err, sizeof(err));
    if (rc < 0) {
        if (f) {
            fclose(f);
            unlink(tmp);
        }
        goto fail;
    }
    if (!f) {
        if (fflush(stdout) != 0) {
            snprintf(err, sizeof(err), "stdout: %s", strerror(errno));
            goto fail;
        }
    } else {
        rc = finish_file(f, tmp, outp, err, sizeof(err));
        if (rc < 0)
            goto fail;
        snprintf(name, sizeof(name), "%s", outp);
        snprintf(dir, sizeof(dir), "%s", outp);
        snprintf(dp, sizeof(dp), "%s/datapackage.json", dirname(dir));
        snprintf(dptmp, sizeof(dptmp), "%s.tmp", dp);
        if (ss_export_datapackage(&o, &info, licence, basename(name), &pkg, err, sizeof(err)) < 0)
            goto fail;
        FILE *pf = fopen(dptmp, "w");
        if (!pf) {
            snprintf(err, sizeof(err), "%s: %s", dptmp, strerror(errno));
            goto fail;
        }
        if (fwrite(pkg.data, 1, pkg.len, pf) != pkg.len) {
            snprintf(err, sizeof(err), "%s: %s", dptmp, strerror(errno));
            fclose(pf);
            unlink(dptmp);
            goto fail;
        }
        if (finish_file(pf, dptmp, dp, err, sizeof(err)) < 0)
            goto fail;
        fprintf(stderr, "%s: %lld rows, %llu bytes, %s to %s; %s\n", outp, info.rows, info.bytes,
                info.first[0] ? info.first : "-", info.last[0] ? info.last : "-", dp);
    }
    status = 0;
    goto out;
fail:
    ss_error("%s", err);
out:
    ss_buf_free(&pkg);
    ss_wh_free(wh);
    ss_daemon_config_free(&cfg);
    return status;
}

int ss_publish_serve_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'L'},  {"licence", required_argument, NULL, 'l'},
        {"license", required_argument, NULL, 'l'}, {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *config = NULL, *listen = NULL, *licence = NULL;
    struct ss_daemon_config cfg;
    char err[2048];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'L':
            listen = optarg;
            break;
        case 'l':
            licence = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            ss_publish_serve_usage(stdout);
            return 0;
        default:
            ss_publish_serve_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !config || !listen) {
        fprintf(stderr, "shelfsync serve: --listen and --config are required\n");
        ss_publish_serve_usage(stderr);
        return 2;
    }
    if (licence && !ss_export_licence_known(licence)) {
        fprintf(stderr, "shelfsync serve: unknown licence \"%s\": expected one of %s\n", licence,
                ss_export_licences());
        return 2;
    }
    if (load_config(config, &cfg) < 0)
        return 1;
    int rc = ss_serve_run(&cfg, listen, licence, err, sizeof(err));
    if (rc < 0)
        ss_error("%s", err);
    ss_daemon_config_free(&cfg);
    return rc < 0 ? 1 : 0;
}
