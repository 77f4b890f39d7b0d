/* Tests for ss_config: both file kinds load with every key and with defaults,
 * and every kind of mistake is reported with the exact file:line:column and
 * key path (positions below are counted by hand from the test input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ss_config.h"
#include "ss_err.h"
#include "ss_source.h"
#include "src_csv.h"

/* The collector loader with the real kind registry, as shelfsync-collect
 * calls it. */
static int ss_collector_config_load_k(const char *path, struct ss_collector_config *cfg, char *err,
                                      size_t errlen)
{
    return ss_collector_config_load(path, ss_source_config_kind, cfg, err, errlen);
}

static char tmpdir[PATH_MAX];
static char cfgpath[PATH_MAX + 32]; /* the file the current test wrote */
static char err[1024];

static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ss_config_test.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    snprintf(cfgpath, sizeof cfgpath, "%s/c.json", tmpdir);
    unlink(cfgpath);
    return rmdir(tmpdir);
}

/* Writes text to the test's config file and returns its path. */
static const char *write_cfg(const char *text)
{
    snprintf(cfgpath, sizeof cfgpath, "%s/c.json", tmpdir);
    FILE *f = fopen(cfgpath, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return cfgpath;
}

/* err must be "<path>" followed by suffix exactly. */
static void assert_err(const char *path, const char *suffix)
{
    char want[sizeof cfgpath + sizeof err];
    snprintf(want, sizeof want, "%s%s", path, suffix);
    assert_string_equal(err, want);
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Loads text as a daemon config that must fail with path + suffix, and
 * checks the failed load left the struct zeroed. */
static void daemon_fails(const char *text, const char *suffix)
{
    struct ss_daemon_config cfg;
    const char *path = write_cfg(text);
    memset(err, 0, sizeof err);
    assert_int_equal(ss_daemon_config_load(path, &cfg, err, sizeof err), SS_EINVAL);
    assert_err(path, suffix);
    assert_true(is_zero(&cfg, sizeof cfg));
    ss_daemon_config_free(&cfg);
}

static void collector_fails(const char *text, const char *suffix)
{
    struct ss_collector_config cfg;
    const char *path = write_cfg(text);
    memset(err, 0, sizeof err);
    assert_int_equal(ss_collector_config_load_k(path, &cfg, err, sizeof err), SS_EINVAL);
    assert_err(path, suffix);
    assert_true(is_zero(&cfg, sizeof cfg));
    ss_collector_config_free(&cfg);
}

/* ---- valid files ---- */

static void test_daemon_full_config_loads_every_key(void **state)
{
    (void)state;
    struct ss_daemon_config cfg;
    const char *path =
        write_cfg("{\n"
                  "    \"description\": \"Leeds warehouse daemon\",\n"
                  "    \"listen\": [\"tcp://127.0.0.1:5555\", \"ipc:///tmp/ss.sock\"],\n"
                  "    \"insecure\": true,\n"
                  "    \"database\": {\n"
                  "        \"conninfo\": \"host=localhost dbname=shelfsync\",\n"
                  "        \"password_file\": \"/etc/shelfsync/pgpass\",\n"
                  "        \"migrate_on_start\": false,\n"
                  "        \"reconnect_initial_ms\": 500,\n"
                  "        \"reconnect_max_ms\": 20000\n"
                  "    },\n"
                  "    \"limits\": {\n"
                  "        \"max_message_bytes\": 2048,\n"
                  "        \"max_frames\": 16,\n"
                  "        \"max_records\": 50,\n"
                  "        \"max_field_bytes\": 1000,\n"
                  "        \"max_header_bytes\": 512,\n"
                  "        \"handshake_ms\": 700\n"
                  "    },\n"
                  "    \"authorities\": {\"abolished\": \"successor\",\n"
                  "                    \"sources\": {\"somerset-2019\": \"quarantine\"}},\n"
                  "    \"log_level\": \"debug\"\n"
                  "}\n");
    assert_int_equal(ss_daemon_config_load(path, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.description, "Leeds warehouse daemon");
    assert_int_equal(cfg.nlisten, 2);
    assert_string_equal(cfg.listen[0], "tcp://127.0.0.1:5555");
    assert_string_equal(cfg.listen[1], "ipc:///tmp/ss.sock");
    assert_null(cfg.listen[2]);
    assert_int_equal(cfg.insecure, 1);
    assert_string_equal(cfg.db_conninfo, "host=localhost dbname=shelfsync");
    assert_string_equal(cfg.db_password_file, "/etc/shelfsync/pgpass");
    assert_int_equal(cfg.migrate_on_start, 0);
    assert_int_equal(cfg.reconnect_initial_ms, 500);
    assert_int_equal(cfg.reconnect_max_ms, 20000);
    assert_int_equal(cfg.max_message_bytes, 2048);
    assert_int_equal(cfg.max_frames, 16);
    assert_int_equal(cfg.max_records, 50);
    assert_int_equal(cfg.max_field_bytes, 1000);
    assert_int_equal(cfg.max_header_bytes, 512);
    assert_int_equal(cfg.handshake_ms, 700);
    assert_string_equal(cfg.authorities_abolished, "successor");
    assert_int_equal(cfg.nauthorities_sources, 1);
    assert_string_equal(cfg.authorities_sources[0].key, "somerset-2019");
    assert_string_equal(cfg.authorities_sources[0].value, "quarantine");
    assert_string_equal(cfg.log_level, "debug");
    ss_daemon_config_free(&cfg);
    assert_true(is_zero(&cfg, sizeof cfg));
}

static void test_daemon_minimal_config_gets_defaults(void **state)
{
    (void)state;
    struct ss_daemon_config cfg;
    const char *path = write_cfg("{\"listen\": \"tcp://127.0.0.1:5555\", "
                                 "\"database\": {\"conninfo\": \"\"}}");
    assert_int_equal(ss_daemon_config_load(path, &cfg, err, sizeof err), 0);
    assert_null(cfg.description);
    assert_int_equal(cfg.nlisten, 1);
    assert_string_equal(cfg.listen[0], "tcp://127.0.0.1:5555");
    assert_null(cfg.listen[1]);
    assert_int_equal(cfg.insecure, 0);
    assert_string_equal(cfg.db_conninfo, ""); /* libpq takes the rest from PG* variables */
    assert_null(cfg.db_password_file);
    assert_int_equal(cfg.migrate_on_start, 1);
    assert_int_equal(cfg.reconnect_initial_ms, 250);
    assert_int_equal(cfg.reconnect_max_ms, 10000);
    assert_int_equal(cfg.max_message_bytes, 67108864);
    assert_int_equal(cfg.max_frames, 8);
    assert_int_equal(cfg.max_records, 100000);
    assert_int_equal(cfg.max_field_bytes, 65536);
    assert_int_equal(cfg.max_header_bytes, 4096);
    assert_int_equal(cfg.handshake_ms, 5000);
    assert_string_equal(cfg.authorities_abolished, "quarantine");
    assert_string_equal(cfg.log_level, "info");
    ss_daemon_config_free(&cfg);
}

static void test_collector_full_config_loads_every_key(void **state)
{
    (void)state;
    struct ss_collector_config cfg;
    const char *path = write_cfg(
        "{\n"
        "    \"description\": \"Leeds loans\",\n"
        "    \"source\": \"leeds.loans-2024_v1\",\n"
        "    \"dataset\": \"loans\",\n"
        "    \"url\": \"https://data.leeds.gov.uk/loans.csv\",\n"
        "    \"kind\": \"csv\",\n"
        "    \"csv\": {\n"
        "        \"delimiter\": \"\\t\",\n"
        "        \"header\": false,\n"
        "        \"columns\": [\"Authority\", \"Library\", \"Month\", \"Type\", \"Loans\"]\n"
        "    },\n"
        "    \"mapping\": {\"authority\": \"Authority\", \"service_point\": \"Library\"},\n"
        "    \"constants\": {\"authority\": \"Leeds\"},\n"
        "    \"state_dir\": \"/var/lib/shelfsync/leeds\",\n"
        "    \"daemon\": {\"endpoints\": [\"tcp://10.0.0.1:5555\", \"tcp://10.0.0.2:5555\"]},\n"
        "    \"batch\": {\"records\": 100, \"max_bytes\": 8192},\n"
        "    \"send\": {\"ack_timeout_ms\": 1000, \"max_in_flight\": 8, "
        "\"backoff_initial_ms\": 20, \"backoff_max_ms\": 200, \"give_up_after_s\": 0, "
        "\"max_outbox_batches\": 5},\n"
        "    \"http\": {\"connect_timeout_s\": 5, \"timeout_s\": 60, \"ca_file\": "
        "\"/etc/ca.pem\"},\n"
        "    \"limits\": {\"max_field_bytes\": 32, \"max_record_bytes\": 512, \"max_fields\": "
        "10},\n"
        "    \"interval_s\": 86400,\n"
        "    \"log_level\": \"warn\"\n"
        "}\n");
    assert_int_equal(ss_collector_config_load_k(path, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.description, "Leeds loans");
    assert_string_equal(cfg.source, "leeds.loans-2024_v1");
    assert_string_equal(cfg.dataset, "loans");
    assert_string_equal(cfg.url, "https://data.leeds.gov.uk/loans.csv");
    assert_string_equal(cfg.kind, "csv");
    const struct ss_csv_options *csv = cfg.options;
    assert_int_equal(csv->delimiter, '\t');
    assert_int_equal(csv->header, 0);
    assert_int_equal(csv->ncolumns, 5);
    assert_string_equal(csv->columns[0], "Authority");
    assert_string_equal(csv->columns[1], "Library");
    assert_string_equal(csv->columns[2], "Month");
    assert_string_equal(csv->columns[3], "Type");
    assert_string_equal(csv->columns[4], "Loans");
    assert_int_equal(cfg.nmapping, 2);
    assert_string_equal(cfg.mapping[0].key, "authority");
    assert_string_equal(cfg.mapping[0].value, "Authority");
    assert_string_equal(cfg.mapping[1].key, "service_point");
    assert_string_equal(cfg.mapping[1].value, "Library");
    assert_int_equal(cfg.nconstants, 1);
    assert_string_equal(cfg.constants[0].key, "authority");
    assert_string_equal(cfg.constants[0].value, "Leeds");
    assert_string_equal(cfg.state_dir, "/var/lib/shelfsync/leeds");
    assert_int_equal(cfg.nendpoints, 2);
    assert_string_equal(cfg.endpoints[0], "tcp://10.0.0.1:5555");
    assert_string_equal(cfg.endpoints[1], "tcp://10.0.0.2:5555");
    assert_int_equal(cfg.batch_records, 100);
    assert_int_equal(cfg.batch_max_bytes, 8192);
    assert_int_equal(cfg.ack_timeout_ms, 1000);
    assert_int_equal(cfg.max_in_flight, 8);
    assert_int_equal(cfg.backoff_initial_ms, 20);
    assert_int_equal(cfg.backoff_max_ms, 200);
    assert_int_equal(cfg.give_up_after_s, 0);
    assert_int_equal(cfg.max_outbox_batches, 5);
    assert_int_equal(cfg.connect_timeout_s, 5);
    assert_int_equal(cfg.timeout_s, 60);
    assert_string_equal(cfg.ca_file, "/etc/ca.pem");
    assert_int_equal(cfg.max_field_bytes, 32);
    assert_int_equal(cfg.max_record_bytes, 512);
    assert_int_equal(cfg.max_fields, 10);
    assert_int_equal(cfg.interval_s, 86400);
    assert_string_equal(cfg.log_level, "warn");
    ss_collector_config_free(&cfg);
    assert_true(is_zero(&cfg, sizeof cfg));
}

static const char minimal_collector[] =
    "{\"source\": \"leeds\", \"dataset\": \"loans\", \"url\": \"file:///data/leeds.csv\", "
    "\"state_dir\": \"/tmp/leeds\", \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]}}";

static void test_collector_minimal_config_gets_defaults(void **state)
{
    (void)state;
    struct ss_collector_config cfg;
    const char *path = write_cfg(minimal_collector);
    assert_int_equal(ss_collector_config_load_k(path, &cfg, err, sizeof err), 0);
    assert_null(cfg.description);
    assert_string_equal(cfg.source, "leeds");
    assert_string_equal(cfg.dataset, "loans");
    assert_string_equal(cfg.url, "file:///data/leeds.csv");
    assert_string_equal(cfg.kind, "csv");
    const struct ss_csv_options *csv = cfg.options;
    assert_int_equal(csv->delimiter, ',');
    assert_int_equal(csv->header, 1);
    assert_int_equal(csv->ncolumns, 0);
    assert_null(csv->columns);
    assert_int_equal(cfg.nmapping, 0);
    assert_int_equal(cfg.nconstants, 0);
    assert_string_equal(cfg.state_dir, "/tmp/leeds");
    assert_int_equal(cfg.nendpoints, 1);
    assert_string_equal(cfg.endpoints[0], "tcp://127.0.0.1:5555");
    assert_int_equal(cfg.batch_records, 5000);
    assert_int_equal(cfg.batch_max_bytes, 8388608);
    assert_int_equal(cfg.ack_timeout_ms, 15000);
    assert_int_equal(cfg.max_in_flight, 4);
    assert_int_equal(cfg.backoff_initial_ms, 250);
    assert_int_equal(cfg.backoff_max_ms, 30000);
    assert_int_equal(cfg.give_up_after_s, 3600);
    assert_int_equal(cfg.max_outbox_batches, 10000);
    assert_int_equal(cfg.connect_timeout_s, 30);
    assert_int_equal(cfg.timeout_s, 0);
    assert_null(cfg.ca_file);
    assert_int_equal(cfg.max_field_bytes, 65536);
    assert_int_equal(cfg.max_record_bytes, 1048576);
    assert_int_equal(cfg.max_fields, 16384);
    assert_int_equal(cfg.interval_s, 0);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.reject_limit.kind, SS_LIMIT_NONE);
    assert_false(ss_config_limit_exceeded(&cfg.reject_limit, 1000, 1000));
    ss_collector_config_free(&cfg);
}

/* "reject_limit": a count or a share, and what each allows. */
static void test_reject_limit_count_or_share(void **state)
{
    (void)state;
    char text[1024];
    struct ss_collector_config cfg;
    static const struct {
        const char *value;
        enum ss_config_limit_kind kind;
        unsigned long long ok_bad, over_bad, all;
    } good[] = {
        {"0", SS_LIMIT_COUNT, 0, 1, 100},
        {"10", SS_LIMIT_COUNT, 10, 11, 100},
        {"\"5%\"", SS_LIMIT_SHARE, 5, 6, 100},
        {"\"0.5%\"", SS_LIMIT_SHARE, 5, 6, 1000},
        {"\"100%\"", SS_LIMIT_SHARE, 100, 101, 100},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(text, sizeof text, "%.*s, \"reject_limit\": %s}",
                 (int)strlen(minimal_collector) - 1, minimal_collector, good[i].value);
        assert_int_equal(ss_collector_config_load_k(write_cfg(text), &cfg, err, sizeof err), 0);
        assert_int_equal(cfg.reject_limit.kind, good[i].kind);
        assert_false(ss_config_limit_exceeded(&cfg.reject_limit, good[i].ok_bad, good[i].all));
        assert_true(ss_config_limit_exceeded(&cfg.reject_limit, good[i].over_bad, good[i].all));
        ss_collector_config_free(&cfg);
    }
    static const char *const bad[] = {"-1",      "\"5\"", "\"lots\"", "\"101%\"", "\"-1%\"",
                                      "\"5 %\"", "\"%\"", "true",     "1.5",      "\" 5%\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%.*s,\n \"reject_limit\": %s}",
                 (int)strlen(minimal_collector) - 1, minimal_collector, bad[i]);
        collector_fails(text, ":2:2: \"reject_limit\": expected a count (an integer from 0) or a "
                              "share of the records (a string such as \"5%\", 0-100)");
    }
}

static void test_description_allowed_in_every_object(void **state)
{
    (void)state;
    struct ss_daemon_config d;
    struct ss_collector_config c;
    const char *path = write_cfg("{\"description\": \"d\", \"listen\": [\"tcp://a:1\"], "
                                 "\"database\": {\"description\": \"db\", \"conninfo\": \"x\"}, "
                                 "\"limits\": {\"description\": \"l\"}}");
    assert_int_equal(ss_daemon_config_load(path, &d, err, sizeof err), 0);
    assert_string_equal(d.description, "d");
    ss_daemon_config_free(&d);

    path = write_cfg("{\"description\": \"c\", \"source\": \"s\", \"dataset\": \"loans\", "
                     "\"url\": \"http://h/x.csv\", \"state_dir\": \"/tmp/s\", "
                     "\"csv\": {\"description\": \"x\"}, "
                     "\"mapping\": {\"description\": \"x\", \"loans\": \"Issues\"}, "
                     "\"constants\": {\"description\": \"x\"}, "
                     "\"daemon\": {\"description\": \"x\", \"endpoints\": [\"tcp://a:1\"]}, "
                     "\"batch\": {\"description\": \"x\"}, \"send\": {\"description\": \"x\"}, "
                     "\"http\": {\"description\": \"x\"}, \"limits\": {\"description\": \"x\"}}");
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), 0);
    assert_string_equal(c.description, "c");
    /* In a mapping, too, "description" is a comment and not a field. */
    assert_int_equal(c.nmapping, 1);
    assert_string_equal(c.mapping[0].key, "loans");
    assert_int_equal(c.nconstants, 0);
    ss_collector_config_free(&c);

    /* Still, it must be a string. */
    daemon_fails("{\"listen\": \"tcp://a:1\", \"database\": {\"conninfo\": \"x\", "
                 "\"description\": 1}}",
                 ":1:55: \"database.description\": expected a string");
}

static void test_daemon_listen_escaped_key_and_utf8_columns(void **state)
{
    (void)state;
    struct ss_daemon_config cfg;
    /* A key written with an escape is the same key. */
    const char *path =
        write_cfg("{\"li\\u0073ten\": \"tcp://a:1\", \"database\": {\"conninfo\": \"\"}}");
    assert_int_equal(ss_daemon_config_load(path, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.listen[0], "tcp://a:1");
    ss_daemon_config_free(&cfg);

    /* Columns count characters: "é" is two bytes, one column. The escaped key
     * is still found. */
    daemon_fails("{\"description\": \"Lé\",\n"
                 " \"in\\u0073ecure\": 1, \"listen\": \"x\", \"database\": {\"conninfo\": \"\"}}",
                 ":2:2: \"insecure\": expected true or false");
    daemon_fails("{\"description\": \"Lé\", \"insecure\": 1}",
                 ":1:23: \"insecure\": expected true or false");
}

/* "mapping": {"loans": {"sum": [...]}}: the pair's value is NULL and the
 * parallel mapping_sums entry holds the columns; a malformed sum names
 * what is wrong where. */
static void test_mapping_sum(void **state)
{
    (void)state;
    struct ss_collector_config c;
    const char *path =
        write_cfg("{\"source\": \"s\", \"dataset\": \"loans\", "
                  "\"url\": \"http://h/x.csv\", \"state_dir\": \"/tmp/s\", "
                  "\"mapping\": {\"service_point\": \"Branch\", "
                  "\"loans\": {\"description\": \"d\", \"sum\": [\"Issues\", \"Renewals\"]}}, "
                  "\"daemon\": {\"endpoints\": [\"tcp://a:1\"]}}");
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), 0);
    assert_int_equal(c.nmapping, 2);
    assert_string_equal(c.mapping[0].value, "Branch");
    assert_int_equal(c.mapping_sums[0].ncolumns, 0);
    assert_string_equal(c.mapping[1].key, "loans");
    assert_null(c.mapping[1].value);
    assert_int_equal(c.mapping_sums[1].ncolumns, 2);
    assert_string_equal(c.mapping_sums[1].columns[0], "Issues");
    assert_string_equal(c.mapping_sums[1].columns[1], "Renewals");
    ss_collector_config_free(&c);

    collector_fails("{\"source\": \"s\", \"mapping\": {\"loans\": {\"sum\": [\"Issues\"]}}}",
                    ":1:39: \"mapping.loans.sum\": expected an array of two or more column names");
    collector_fails(
        "{\"source\": \"s\", \"mapping\": {\"loans\": {\"add\": [\"A\", \"B\"]}}}",
        ":1:39: \"mapping.loans.add\": unknown key (a mapping object has only \"sum\")");
    collector_fails("{\"source\": \"s\", \"mapping\": {\"loans\": {\"sum\": [\"A\", 2]}}}",
                    ":1:39: \"mapping.loans.sum\": entry 2: expected a non-empty column name");
    collector_fails("{\"source\": \"s\", \"mapping\": {\"loans\": {\"sum\": [\"A\", \"A\"]}}}",
                    ":1:39: \"mapping.loans.sum\": \"A\" is named twice");
    /* Only "mapping" sums: a constant is one value. */
    collector_fails("{\"source\": \"s\", \"constants\": {\"loans\": {\"sum\": [\"A\", \"B\"]}}}",
                    ":1:31: \"constants.loans\": expected a string");
}

/* A collector config for loan_transactions whose lines 1-4 are fixed and
 * whose line 5 is "    \"value_maps\": {" then the given text. */
static const char *valmap_cfg(const char *value_maps)
{
    static char text[2048];
    snprintf(
        text, sizeof text,
        "{\"source\": \"leeds\", \"dataset\": \"loan_transactions\", \"url\": \"file:///x\",\n"
        " \"state_dir\": \"/tmp/s\", \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]},\n"
        " \"transforms\": {\"item_type\": \"upper\"},\n"
        " \"description\": \"value maps from line 5\",\n"
        " \"value_maps\": {%s}\n"
        "}\n",
        value_maps);
    return text;
}

static void test_value_map_plain_and_object_forms_load(void **state)
{
    (void)state;
    struct ss_collector_config c;
    const char *path = write_cfg(valmap_cfg(
        "\"service_point\": {\"description\": \"d\", \"values\": {\"Central Library\": \"SP001\", "
        "\"Kirkgate\": \"SP002\"}, \"match\": \"loose\"},\n"
        "  \"item_type\": {\"values\": {\"DVD\": \"Audio-visual\"}, \"transform_first\": true},\n"
        "  \"renewal\": {\"Y\": \"yes\", \"values\": \"x\"}"));
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), 0);
    assert_int_equal(c.nvalue_maps, 3);
    const struct ss_config_valmap *sp = &c.value_maps[0], *it = &c.value_maps[1],
                                  *rn = &c.value_maps[2];
    assert_string_equal(sp->field, "service_point");
    assert_int_equal(sp->npairs, 2);
    assert_string_equal(sp->pairs[0].key, "Central Library");
    assert_string_equal(sp->pairs[0].value, "SP001");
    assert_string_equal(sp->match, "loose");
    assert_true(ss_config_valmap_loose(sp));
    assert_false(sp->transform_first);
    assert_string_equal(it->match, "exact");
    assert_false(ss_config_valmap_loose(it));
    assert_true(it->transform_first);
    assert_int_equal(it->npairs, 1);
    /* The plain form, as before: "values" holding a string is a source value. */
    assert_string_equal(rn->match, "exact");
    assert_false(rn->transform_first);
    assert_int_equal(rn->npairs, 2);
    assert_string_equal(rn->pairs[1].key, "values");
    assert_string_equal(rn->pairs[1].value, "x");
    ss_collector_config_free(&c);
}

static void test_value_map_object_form_mistakes_reported(void **state)
{
    (void)state;
    collector_fails(valmap_cfg("\"service_point\": {\"values\": {}, \"matching\": \"loose\"}"),
                    ":5:49: \"value_maps.service_point.matching\": unknown key (expected one of: "
                    "description, values, match, transform_first)");
    collector_fails(valmap_cfg("\"service_point\": {\"values\": {}, \"match\": \"fuzzy\"}"),
                    ":5:49: \"value_maps.service_point.match\": expected one of \"exact\", "
                    "\"loose\"");
    collector_fails(valmap_cfg("\"item_type\": {\"values\": {}, \"transform_first\": \"yes\"}"),
                    ":5:45: \"value_maps.item_type.transform_first\": expected true or false");
    collector_fails(valmap_cfg("\"service_point\": {\"values\": {\"A\": 1}}"),
                    ":5:46: \"value_maps.service_point.values.A\": expected a string");
    /* Members beside plain pairs are the object form without its "values". */
    collector_fails(valmap_cfg("\"service_point\": {\"A\": \"B\",\n  \"transform_first\": true}"),
                    ":6:3: \"value_maps.service_point.transform_first\": expected a string (a map "
                    "with other members is {\"values\": {...}, \"match\": ..., "
                    "\"transform_first\": ...})");
    collector_fails(valmap_cfg("\"service_point\": \"SP001\""),
                    ":5:17: \"value_maps.service_point\": expected an object of strings or "
                    "{\"values\": {...}, \"match\": ..., \"transform_first\": ...}");
}

static void test_loose_value_map_collision_names_both_keys(void **state)
{
    (void)state;
    collector_fails(valmap_cfg("\n"
                               "  \"service_point\": {\"match\": \"loose\", \"values\": {\n"
                               "    \"Central\": \"SP001\",\n"
                               "    \"Kirkgate\": \"SP002\",\n"
                               "    \"CENTRAL \": \"SP003\"}}\n"),
                    ":9:5: \"value_maps.service_point.values.CENTRAL \": is the same loose key "
                    "(\"central\") as \"Central\" at line 7, column 5: with \"match\": \"loose\" "
                    "case and spacing do not tell values apart; keep one");
    /* Exact, the same keys are two values. */
    struct ss_collector_config c;
    const char *path = write_cfg(valmap_cfg(
        "\"service_point\": {\"values\": {\"Central\": \"SP001\", \"CENTRAL \": \"SP003\"}}"));
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), 0);
    assert_int_equal(c.value_maps[0].npairs, 2);
    ss_collector_config_free(&c);
}

static void test_transform_first_needs_a_transform(void **state)
{
    (void)state;
    collector_fails(valmap_cfg("\"service_point\": {\"values\": {\"A\": \"B\"},\n"
                               "    \"transform_first\": true}"),
                    ":6:5: \"value_maps.service_point.transform_first\": there is no "
                    "\"transforms.service_point\" to run first (set one, or drop "
                    "\"transform_first\")");
    /* false needs nothing. */
    struct ss_collector_config c;
    const char *path = write_cfg(
        valmap_cfg("\"service_point\": {\"values\": {\"A\": \"B\"}, \"transform_first\": false}"));
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), 0);
    ss_collector_config_free(&c);
}

static void test_valmap_key_folds_ascii_case_and_spacing(void **state)
{
    (void)state;
    char out[64];
    const char *in = " \t\xC2\xA0"
                     "Central \t\r\n\xC2\xA0 LIBRARY\r\n";
    size_t n = ss_config_valmap_key(in, strlen(in), out, sizeof out);
    assert_int_equal(n, 15);
    assert_memory_equal(out, "central library", 15);
    /* UTF-8 stays as it is; no byte is added. */
    in = "\xC3\x89"
         "COLE  Caf\xC3\xA9";
    n = ss_config_valmap_key(in, strlen(in), out, sizeof out);
    assert_int_equal(n, 12);
    assert_memory_equal(out,
                        "\xC3\x89"
                        "cole caf\xC3\xA9",
                        12);
    /* A short buffer gets the start; the length is the whole key's. */
    n = ss_config_valmap_key("  Kirk  Gate ", 13, out, 4);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "kirk", 4);
    assert_int_equal(ss_config_valmap_key(" \t ", 3, out, sizeof out), 0);
    /* Folding twice changes nothing. */
    char again[64];
    in = " A  b\tC ";
    n = ss_config_valmap_key(in, strlen(in), out, sizeof out);
    assert_int_equal(ss_config_valmap_key(out, n, again, sizeof again), n);
    assert_memory_equal(again, out, n);
}

/* ---- errors ---- */

static void test_escaped_keys_located_by_decoded_name(void **state)
{
    (void)state;
    /* "caf\u00e9" decodes to a prefix of the wanted key and must not match;
     * the surrogate pair decodes to one 4-byte character. */
    collector_fails("{\"source\": \"s\", \"mapping\": {\"a\\tb\": \"x\", \"caf\\u00e9\": \"y\", "
                    "\"caf\\u00e9 \\ud83d\\ude00\": 1}}",
                    ":1:60: \"mapping.caf\u00e9 \U0001F600\": expected a string (a column name) or "
                    "{\"sum\": [column, column, ...]}");
}

static void test_unknown_top_level_key_named_with_position(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "    \"listen\": \"tcp://127.0.0.1:5555\",\n"
                 "    \"lisen\": \"tcp://127.0.0.1:5556\",\n"
                 "    \"database\": {\"conninfo\": \"\"}\n"
                 "}\n",
                 ":3:5: \"lisen\": unknown key (expected one of: description, listen, insecure, "
                 "curve, database, limits, authorities, metrics, health, log_level)");
    collector_fails("{\"source\": \"s\", \"sauce\": 1}",
                    ":1:17: \"sauce\": unknown key (expected one of: description, source, "
                    "dataset, url, kind, csv, json, koha, folio, privacy, value_maps, "
                    "transforms, mapping, constants, state_dir, daemon, batch, send, http, "
                    "limits, interval_s, allow_empty, as_of, reject_limit, log_level)");
}

static void test_unknown_nested_key_named_with_position(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "    \"listen\": \"tcp://127.0.0.1:5555\",\n"
                 "    \"database\": {\n"
                 "        \"conninfo\": \"dbname=x\",\n"
                 "        \"hots\": \"db1\"\n"
                 "    }\n"
                 "}\n",
                 ":5:9: \"database.hots\": unknown key (expected one of: description, conninfo, "
                 "password_file, migrate_on_start, reconnect_initial_ms, reconnect_max_ms)");
    /* Keys with the same name at another level are not confused. */
    daemon_fails("{\"limits\": {\"max_frames\": 4},\n"
                 " \"listen\": \"x\", \"database\": {\"conninfo\": \"\"},\n"
                 " \"max_frames\": 4}",
                 ":3:2: \"max_frames\": unknown key (expected one of: description, listen, "
                 "insecure, curve, database, limits, authorities, metrics, health, log_level)");
}

static void test_wrong_type_reported(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "  \"listen\": \"tcp://a:1\",\n"
                 "  \"insecure\": \"yes\",\n"
                 "  \"database\": {\"conninfo\": \"\"}\n"
                 "}",
                 ":3:3: \"insecure\": expected true or false");
    daemon_fails("{\"listen\": 5555}",
                 ":1:2: \"listen\": expected a string or an array of strings");
    daemon_fails("{\"listen\": [\"tcp://a:1\", 5]}",
                 ":1:26: \"listen[1]\": expected a non-empty string");
    daemon_fails("{\"listen\": []}", ":1:2: \"listen\": expected at least 1 entry");
    daemon_fails("{\"listen\": \"x\", \"database\": \"dbname=x\"}",
                 ":1:17: \"database\": expected an object");
    daemon_fails("{\"listen\": \"x\", \"log_level\": \"verbose\"}",
                 ":1:17: \"log_level\": expected one of \"error\", \"warn\", \"notice\", \"info\", "
                 "\"debug\"");
    daemon_fails("{\"listen\": \"x\",\n \"authorities\": {\"abolished\": \"map\"}}",
                 ":2:18: \"authorities.abolished\": expected one of \"quarantine\", "
                 "\"successor\"");
    daemon_fails("{\"listen\": \"x\", \"database\": {\"conninfo\": \"\"},\n"
                 " \"authorities\": {\"sources\": {\"archive\": \"succesor\"}}}",
                 ":2:30: \"authorities.sources.archive\": expected one of \"quarantine\", "
                 "\"successor\"");
    daemon_fails("[1, 2]", ":1:1: expected a JSON object");
    collector_fails("{\"source\": \"s\", \"mapping\": {\"loans\": 3}}",
                    ":1:29: \"mapping.loans\": expected a string (a column name) or {\"sum\": "
                    "[column, column, ...]}");
    collector_fails("{\"source\": \"s\", \"csv\": {\"columns\": \"A,B\"}}",
                    ":1:25: \"csv.columns\": expected an array of strings");
    collector_fails("{\"source\": \"s\", \"csv\": {\"delimiter\": \";;\"}}",
                    ":1:25: \"csv.delimiter\": expected a one-character string such as \",\" \";\" "
                    "\"\\t\" \"|\"");
    collector_fails("{\"source\": \"s\", \"csv\": {\"delimiter\": \"\\\"\"}}",
                    ":1:25: \"csv.delimiter\": cannot be a quote or a line break");
    collector_fails("{\"source\": \"s\", \"url\": \"ftp://x/y.csv\"}",
                    ":1:17: \"url\": expected a URL starting with http://, https:// or file://");
    collector_fails("{\"source\": \"s\", \"kind\": \"xlsx\"}",
                    ":1:17: \"kind\": expected one of \"csv\", \"json\", \"koha\", "
                    "\"koha_report\", \"folio\"");
    collector_fails("{\"source\": \"s\", \"daemon\": {\"endpoints\": []}}",
                    ":1:28: \"daemon.endpoints\": expected at least 1 entry");
    collector_fails("{\"source\": \"s\", \"daemon\": {\"endpoints\": [\"1\", \"2\", \"3\", \"4\", "
                    "\"5\", \"6\", \"7\", \"8\", \"9\"]}}",
                    ":1:28: \"daemon.endpoints\": expected at most 8 entries");
}

static void test_integer_out_of_range_reported(void **state)
{
    (void)state;
    static const char *const bad[] = {"50", "3600001", "1.5", "\"1000\"", "-1"};
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 "{\n"
                 "    \"source\": \"leeds\",\n"
                 "    \"send\": {\n"
                 "        \"max_in_flight\": 2,\n"
                 "        \"ack_timeout_ms\": %s\n"
                 "    }\n"
                 "}\n",
                 bad[i]);
        collector_fails(text, ":5:9: \"send.ack_timeout_ms\": expected an integer from 100 to "
                              "3600000");
    }
    /* The bounds themselves are accepted. */
    struct ss_collector_config cfg;
    snprintf(text, sizeof text,
             "%.*s, \"send\": {\"ack_timeout_ms\": 100, \"backoff_max_ms\": "
             "3600000}}",
             (int)strlen(minimal_collector) - 1, minimal_collector);
    assert_int_equal(ss_collector_config_load_k(write_cfg(text), &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.ack_timeout_ms, 100);
    assert_int_equal(cfg.backoff_max_ms, 3600000);
    ss_collector_config_free(&cfg);
}

static void test_missing_required_key_at_enclosing_object(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "    \"listen\": \"tcp://127.0.0.1:5555\",\n"
                 "    \"database\": {\n"
                 "        \"password_file\": \"/x\"\n"
                 "    }\n"
                 "}\n",
                 ":3:17: \"database.conninfo\": required key missing");
    daemon_fails("{\"listen\": \"tcp://127.0.0.1:5555\"}",
                 ":1:1: \"database\": required key missing");
    daemon_fails("\n  {\"database\": {\"conninfo\": \"\"}}",
                 ":2:3: \"listen\": required key missing");
    collector_fails("{\"source\": \"s\", \"dataset\": \"loans\", \"url\": \"http://x/y\", "
                    "\"state_dir\": \"/tmp/s\",\n \"daemon\": {}}",
                    ":2:12: \"daemon.endpoints\": required key missing");
    collector_fails("{\"source\": \"s\", \"dataset\": \"loans\", \"url\": \"http://x/y\", "
                    "\"daemon\": {\"endpoints\": [\"e\"]}}",
                    ":1:1: \"state_dir\": required key missing");
}

static void test_json_syntax_error_has_position(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "    \"listen\": \"tcp://127.0.0.1:5555\",\n"
                 "    \"database\": {\"conninfo\": \"x\",}\n"
                 "}\n",
                 ":3:34: JSON syntax error: string or '}' expected near '}'");
    daemon_fails("{\n  \"insecure\": tru\n}", ":2:17: JSON syntax error: invalid token near 'tru'");
    daemon_fails("", ":1:0: JSON syntax error: '[' or '{' expected near end of file");
}

static void test_duplicate_key_rejected(void **state)
{
    (void)state;
    daemon_fails("{\n"
                 "  \"listen\": \"tcp://a:1\",\n"
                 "  \"listen\": \"tcp://a:2\"\n"
                 "}\n",
                 ":3:10: JSON error: duplicate object key near '\"listen\"'");
}

static void test_unknown_dataset_lists_known_names(void **state)
{
    (void)state;
    collector_fails("{\"source\": \"s\",\n \"dataset\": \"footfall\"}",
                    ":2:2: \"dataset\": unknown dataset \"footfall\" (known: service_points, "
                    "mobile_stops, events, loans, visits, membership, stock, activity_loans, "
                    "activity_visits, active_users, activity_events, activity_event_attendance, "
                    "computer_hours, wifi_sessions, click_and_collect, workforce, finance, "
                    "loan_transactions)");
}

static void test_bad_source_name_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "leeds loans",
        "leeds/loans",
        "L\\u00e9eds",
        "a2345678901234567890123456789012345678901234567890123456789012345", /* 65 */
    };
    char text[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"source\": \"%s\"}", bad[i]);
        collector_fails(text,
                        ":1:2: \"source\": expected 1 to 64 characters from A-Z a-z 0-9 . _ -");
    }
    struct ss_collector_config cfg;
    snprintf(text, sizeof text, "%s", minimal_collector);
    memcpy(strstr(text, "\"leeds\""), "\"A-z.9\"", 7);
    assert_int_equal(ss_collector_config_load_k(write_cfg(text), &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.source, "A-z.9");
    ss_collector_config_free(&cfg);
}

static void test_header_false_requires_columns(void **state)
{
    (void)state;
    collector_fails("{\n"
                    "    \"source\": \"leeds\",\n"
                    "    \"dataset\": \"loans\",\n"
                    "    \"url\": \"file:///data/leeds.csv\",\n"
                    "    \"state_dir\": \"/tmp/s\",\n"
                    "    \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]},\n"
                    "    \"csv\": {\n"
                    "        \"header\": false\n"
                    "    }\n"
                    "}\n",
                    ":7:12: \"csv.columns\": required key missing (\"csv.header\" is false)");
}

static void test_mapping_and_constants_keys_must_be_dataset_fields(void **state)
{
    (void)state;
    collector_fails("{\n"
                    "    \"source\": \"leeds\",\n"
                    "    \"dataset\": \"loans\",\n"
                    "    \"url\": \"file:///data/leeds.csv\",\n"
                    "    \"state_dir\": \"/tmp/s\",\n"
                    "    \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]},\n"
                    "    \"mapping\": {\"loans\": \"Issues\", \"branch\": \"Branch\"}\n"
                    "}\n",
                    ":7:36: \"mapping.branch\": dataset \"loans\" has no such field (its fields: "
                    "authority, service_point, month, period, period_start, period_end, "
                    "item_type, loans)");
    collector_fails("{\n"
                    "    \"source\": \"leeds\",\n"
                    "    \"dataset\": \"loans\",\n"
                    "    \"url\": \"file:///data/leeds.csv\",\n"
                    "    \"state_dir\": \"/tmp/s\",\n"
                    "    \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]},\n"
                    "    \"constants\": {\"Authority\": \"E08000035\"}\n"
                    "}\n",
                    ":7:19: \"constants.Authority\": dataset \"loans\" has no such field (its "
                    "fields: authority, service_point, month, period, period_start, period_end, "
                    "item_type, loans)");
}

/* A kind the loader has never heard of declares its options in its own
 * table and is checked like every other key: what a new source kind needs
 * of the config loader, without a line of common/ changing. */
struct demo_options {
    long depth;
    char *name;
};

static const struct ss_config_option demo_options[] = {
    {.key = "depth",
     .type = SS_CFG_INT,
     .off = offsetof(struct demo_options, depth),
     .min = 1,
     .max = 5,
     .def = 2},
    {.key = "name",
     .type = SS_CFG_STRING,
     .flags = SS_CFG_REQUIRED | SS_CFG_NONEMPTY,
     .off = offsetof(struct demo_options, name)},
    {0},
};

static int demo_check(struct ss_config_ctx *ctx, const struct ss_collector_config *cfg,
                      const void *opts)
{
    const struct demo_options *o = opts;
    (void)cfg;
    if (o->depth == 4)
        return ss_config_fail(ctx, 0, "demo.depth", "4 is unlucky");
    return 0;
}

static const struct ss_config_section demo_section = {"demo", demo_options,
                                                      sizeof(struct demo_options), NULL};
static const struct ss_config_kind demo_kind = {"demo", &demo_section, 1, demo_check};

static const struct ss_config_kind *demo_kinds(size_t i)
{
    const struct ss_config_kind *k = ss_source_config_kind(i);
    if (k)
        return k;
    return ss_source_config_kind(i - 1) ? &demo_kind : NULL;
}

static void test_collector_kind_declares_its_own_options(void **state)
{
    struct ss_collector_config cfg;
    (void)state;
    const char *head = "{\"source\": \"leeds\", \"dataset\": \"loans\", \"url\": \"file:///x\",\n"
                       " \"state_dir\": \"/tmp/leeds\", \"kind\": \"demo\",\n"
                       " \"daemon\": {\"endpoints\": [\"tcp://127.0.0.1:5555\"]},\n";
    char text[1024];

    snprintf(text, sizeof text, "%s \"demo\": {\"name\": \"x\"}}", head);
    assert_int_equal(ss_collector_config_load(write_cfg(text), demo_kinds, &cfg, err, sizeof err),
                     0);
    const struct demo_options *o = cfg.options;
    assert_ptr_equal(cfg.options_section, &demo_section);
    assert_int_equal(o->depth, 2); /* its default */
    assert_string_equal(o->name, "x");
    ss_collector_config_free(&cfg);

    snprintf(text, sizeof text, "%s \"demo\": {\"name\": \"x\", \"depth\": 9}}", head);
    const char *path = write_cfg(text);
    assert_int_equal(ss_collector_config_load(path, demo_kinds, &cfg, err, sizeof err), SS_EINVAL);
    assert_err(path, ":4:24: \"demo.depth\": expected an integer from 1 to 5");

    snprintf(text, sizeof text, "%s \"demo\": {\"name\": \"x\", \"depth\": 4}}", head);
    assert_int_equal(
        ss_collector_config_load(path = write_cfg(text), demo_kinds, &cfg, err, sizeof err),
        SS_EINVAL);
    assert_err(path, ":4:24: \"demo.depth\": 4 is unlucky");

    snprintf(text, sizeof text, "%s \"demo\": {\"nmae\": \"x\"}}", head);
    assert_int_equal(
        ss_collector_config_load(path = write_cfg(text), demo_kinds, &cfg, err, sizeof err),
        SS_EINVAL);
    assert_err(path,
               ":4:11: \"demo.nmae\": unknown key (expected one of: description, depth, name)");

    /* The kind requires its object. */
    snprintf(text, sizeof text, "%s \"batch\": {}}", head);
    assert_int_equal(
        ss_collector_config_load(path = write_cfg(text), demo_kinds, &cfg, err, sizeof err),
        SS_EINVAL);
    assert_err(path, ":1:1: \"demo\": required key missing (\"kind\" is \"demo\")");

    /* Without the kinds (shelfsync check-config) the object is not looked into. */
    snprintf(text, sizeof text, "%s \"demo\": {\"nmae\": \"x\"}}", head);
    assert_int_equal(ss_collector_config_load(path = write_cfg(text), NULL, &cfg, err, sizeof err),
                     0);
    assert_null(cfg.options);
    assert_string_equal(cfg.kind, "demo");
    ss_collector_config_free(&cfg);
}

static void test_check_config_detects_kind(void **state)
{
    (void)state;
    const char *kind = "unset";

    assert_int_equal(ss_config_check(write_cfg("{\"listen\": \"tcp://a:1\", "
                                               "\"database\": {\"conninfo\": \"\"}}"),
                                     &kind, err, sizeof err),
                     0);
    assert_string_equal(kind, "daemon");

    assert_int_equal(ss_config_check(write_cfg(minimal_collector), &kind, err, sizeof err), 0);
    assert_string_equal(kind, "collector");

    /* The kind is known even when the file is wrong, and the error is the loader's. */
    const char *path = write_cfg("{\"source\": \"s\", \"url\": 1}");
    assert_int_equal(ss_config_check(path, &kind, err, sizeof err), SS_EINVAL);
    assert_string_equal(kind, "collector");
    assert_err(path, ":1:17: \"url\": expected a string");

    path = write_cfg("{\"listen\": \"x\"}");
    assert_int_equal(ss_config_check(path, &kind, err, sizeof err), SS_EINVAL);
    assert_string_equal(kind, "daemon");
    assert_err(path, ":1:1: \"database\": required key missing");

    path = write_cfg("{\n  \"database\": {\"conninfo\": \"\"}\n}");
    assert_int_equal(ss_config_check(path, &kind, err, sizeof err), SS_EINVAL);
    assert_null(kind);
    assert_err(path, ":1:1: neither \"listen\" (daemon) nor \"source\" (collector) found: "
                     "cannot tell which kind of configuration this is");

    path = write_cfg("{\"listen\": ");
    assert_int_equal(ss_config_check(path, &kind, err, sizeof err), SS_EINVAL);
    assert_null(kind);
    assert_err(path, ":1:11: JSON syntax error: unexpected token near end of file");
}

static void test_free_after_failed_load_is_safe(void **state)
{
    (void)state;
    struct ss_daemon_config d;
    struct ss_collector_config c;

    /* Zeroed structs. */
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    ss_daemon_config_free(&d);
    ss_collector_config_free(&c);

    /* Failing late, after strings, lists and maps were filled: the load frees
     * them itself (ASan reports a leak otherwise) and leaves the struct zero;
     * a second free does nothing. */
    const char *path = write_cfg("{\"description\": \"x\", \"listen\": [\"a\", \"b\"], "
                                 "\"database\": {\"conninfo\": \"c\"}, \"log_level\": \"loud\"}");
    memset(&d, 0xff, sizeof d); /* load must not read what was there */
    assert_int_equal(ss_daemon_config_load(path, &d, err, sizeof err), SS_EINVAL);
    assert_true(is_zero(&d, sizeof d));
    ss_daemon_config_free(&d);
    ss_daemon_config_free(&d);

    path = write_cfg("{\"source\": \"s\", \"dataset\": \"loans\", \"url\": \"http://x/y\", "
                     "\"csv\": {\"columns\": [\"A\", \"B\"]}, \"mapping\": {\"loans\": \"B\"}, "
                     "\"constants\": {\"authority\": \"Leeds\", \"item_type\": 7}}");
    memset(&c, 0xff, sizeof c);
    assert_int_equal(ss_collector_config_load_k(path, &c, err, sizeof err), SS_EINVAL);
    assert_err(path, ":1:153: \"constants.item_type\": expected a string");
    assert_true(is_zero(&c, sizeof c));
    ss_collector_config_free(&c);

    /* A missing file too. */
    snprintf(cfgpath, sizeof cfgpath, "%s/absent.json", tmpdir);
    assert_int_equal(ss_collector_config_load_k(cfgpath, &c, err, sizeof err), SS_EINVAL);
    assert_err(cfgpath, ": cannot open: No such file or directory");
    assert_true(is_zero(&c, sizeof c));
    ss_collector_config_free(&c);
}

static void test_oversized_file_rejected(void **state)
{
    (void)state;
    /* Valid JSON, but past the 1 MiB bound: refused before parsing. */
    size_t n = 1024 * 1024 + 1;
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, ' ', n);
    text[0] = '{';
    text[n - 1] = '}';
    text[n] = '\0';
    daemon_fails(text, ": larger than 1048576 bytes: not a configuration file");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_full_config_loads_every_key),
        cmocka_unit_test(test_daemon_minimal_config_gets_defaults),
        cmocka_unit_test(test_collector_full_config_loads_every_key),
        cmocka_unit_test(test_collector_minimal_config_gets_defaults),
        cmocka_unit_test(test_description_allowed_in_every_object),
        cmocka_unit_test(test_mapping_sum),
        cmocka_unit_test(test_value_map_plain_and_object_forms_load),
        cmocka_unit_test(test_value_map_object_form_mistakes_reported),
        cmocka_unit_test(test_loose_value_map_collision_names_both_keys),
        cmocka_unit_test(test_transform_first_needs_a_transform),
        cmocka_unit_test(test_valmap_key_folds_ascii_case_and_spacing),
        cmocka_unit_test(test_daemon_listen_escaped_key_and_utf8_columns),
        cmocka_unit_test(test_escaped_keys_located_by_decoded_name),
        cmocka_unit_test(test_unknown_top_level_key_named_with_position),
        cmocka_unit_test(test_unknown_nested_key_named_with_position),
        cmocka_unit_test(test_wrong_type_reported),
        cmocka_unit_test(test_integer_out_of_range_reported),
        cmocka_unit_test(test_missing_required_key_at_enclosing_object),
        cmocka_unit_test(test_json_syntax_error_has_position),
        cmocka_unit_test(test_duplicate_key_rejected),
        cmocka_unit_test(test_reject_limit_count_or_share),
        cmocka_unit_test(test_unknown_dataset_lists_known_names),
        cmocka_unit_test(test_bad_source_name_rejected),
        cmocka_unit_test(test_header_false_requires_columns),
        cmocka_unit_test(test_mapping_and_constants_keys_must_be_dataset_fields),
        cmocka_unit_test(test_collector_kind_declares_its_own_options),
        cmocka_unit_test(test_check_config_detects_kind),
        cmocka_unit_test(test_free_after_failed_load_is_safe),
        cmocka_unit_test(test_oversized_file_rejected),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
