/* Wire protocol v1: headers and payloads encode, decode, and malformed input
 * is refused with a reason, never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ss_proto.h"

static struct ss_header batch_header(void)
{
    struct ss_header h;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_BATCH;
    strcpy(h.source, "barnet-loans");
    strcpy(h.run_id, "20261128T120000Z-0a1b2c3d");
    h.seq = 7;
    strcpy(h.dataset, "loans");
    h.records = 500;
    h.fields = 8;
    h.last = 1;
    return h;
}

static void test_proto_batch_header_round_trips(void **state)
{
    struct ss_header h = batch_header(), back;
    struct ss_buf b;
    char err[256];
    ss_buf_init(&b, 4096);
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.type, SS_MSG_BATCH);
    assert_string_equal(back.source, "barnet-loans");
    assert_string_equal(back.run_id, "20261128T120000Z-0a1b2c3d");
    assert_int_equal(back.seq, 7);
    assert_string_equal(back.dataset, "loans");
    assert_int_equal(back.records, 500);
    assert_int_equal(back.fields, 8);
    assert_true(back.last);
    ss_buf_free(&b);
}

static void test_proto_ack_round_trips_with_reason(void **state)
{
    struct ss_header h, back;
    struct ss_buf b;
    char err[256];
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_ACK;
    strcpy(h.source, "s");
    strcpy(h.run_id, "r");
    h.seq = 3;
    h.status = SS_ACK_REFUSED;
    h.accepted = 0;
    h.quarantined = 0;
    strcpy(h.reason, "unknown dataset \"visits\"");
    ss_buf_init(&b, 4096);
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.type, SS_MSG_ACK);
    assert_int_equal(back.status, SS_ACK_REFUSED);
    assert_string_equal(back.reason, "unknown dataset \"visits\"");
    ss_buf_free(&b);
}

static void test_proto_run_records_round_trip(void **state)
{
    struct ss_header h, back;
    struct ss_buf b;
    char err[256];
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_RUN;
    h.event = SS_RUN_BEGIN;
    strcpy(h.source, "leeds-loans");
    strcpy(h.run_id, "20240501T020000Z-1a2b3c4d");
    strcpy(h.dataset, "loans");
    strcpy(h.at, "2024-05-01T02:00:00Z");
    strcpy(h.kind, "csv");
    memset(h.config, 'a', 64);
    h.full = 1;
    ss_buf_init(&b, 4096);
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.type, SS_MSG_RUN);
    assert_int_equal(back.event, SS_RUN_BEGIN);
    assert_int_equal(back.seq, 0);
    assert_string_equal(back.kind, "csv");
    assert_string_equal(back.config, h.config);
    assert_int_equal(back.full, 1);
    assert_string_equal(back.at, "2024-05-01T02:00:00Z");

    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_RUN;
    h.event = SS_RUN_END;
    strcpy(h.source, "leeds-loans");
    strcpy(h.run_id, "r1");
    h.seq = 5;
    strcpy(h.dataset, "loans");
    h.outcome = SS_RUN_PARTIAL;
    h.exit_status = 2;
    h.bytes = 5000000000ULL; /* past 32 bits */
    h.nrecords = 12;
    h.rejected = 1;
    h.batches = 4;
    h.refused = 0;
    strcpy(h.error, "http://x/a.csv: the transfer was cut short");
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.event, SS_RUN_END);
    assert_int_equal(back.outcome, SS_RUN_PARTIAL);
    assert_int_equal(back.exit_status, 2);
    assert_true(back.bytes == 5000000000ULL);
    assert_int_equal(back.nrecords, 12);
    assert_int_equal(back.batches, 4);
    assert_string_equal(back.error, h.error);
    assert_string_equal(ss_run_outcome_name(back.outcome), "partial");
    ss_buf_free(&b);
}

/* The end record's outbox_batches (since 013) is optional both ways: sent
 * when known, absent (has_outbox 0) from a peer that predates it. */
static void test_proto_run_end_outbox_batches_optional(void **state)
{
    struct ss_header h, back;
    struct ss_buf b;
    char err[256];
    (void)state;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_RUN;
    h.event = SS_RUN_END;
    strcpy(h.source, "leeds-loans");
    strcpy(h.run_id, "r1");
    strcpy(h.dataset, "loans");
    h.outcome = SS_RUN_COMPLETE;
    h.has_outbox = 1;
    h.outbox_batches = 3;
    ss_buf_init(&b, 4096);
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_non_null(strstr((const char *)b.data, "\"outbox_batches\":3"));
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.has_outbox, 1);
    assert_int_equal(back.outbox_batches, 3);

    h.has_outbox = 0;
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_null(strstr((const char *)b.data, "outbox_batches"));
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_int_equal(back.has_outbox, 0);

    const char *bad = "{\"type\":\"run\",\"source\":\"s\",\"run_id\":\"r\",\"seq\":1,"
                      "\"event\":\"end\",\"dataset\":\"loans\",\"outcome\":\"complete\","
                      "\"outbox_batches\":-1}";
    assert_true(ss_proto_decode_header(bad, strlen(bad), 4096, &back, err, sizeof(err)) < 0);
    ss_buf_free(&b);
}

static void test_proto_batch_partial_flag_round_trips(void **state)
{
    struct ss_header h;
    char err[256];
    const char *json = "{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":2,"
                       "\"dataset\":\"loans\",\"records\":1,\"fields\":8,\"last\":true,"
                       "\"partial\":true}";
    assert_int_equal(ss_proto_decode_header(json, strlen(json), 4096, &h, err, sizeof(err)), 0);
    assert_int_equal(h.last, 1);
    assert_int_equal(h.partial, 1);
}

static void test_proto_batch_as_of_round_trips_and_is_optional(void **state)
{
    struct ss_header h, back;
    struct ss_buf b;
    char err[256];
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_BATCH;
    snprintf(h.source, sizeof(h.source), "bristol");
    snprintf(h.run_id, sizeof(h.run_id), "r1");
    h.seq = 1;
    snprintf(h.dataset, sizeof(h.dataset), "service_points");
    h.records = 3;
    h.fields = 48;
    snprintf(h.as_of, sizeof(h.as_of), "2016-07-01");
    snprintf(h.as_of_basis, sizeof(h.as_of_basis), "config");
    ss_buf_init(&b, SS_PROTO_HEADER_MAX);
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_string_equal(back.as_of, "2016-07-01");
    assert_string_equal(back.as_of_basis, "config");
    snprintf(h.as_of, sizeof(h.as_of), "2024-05-01T10:00:00Z");
    snprintf(h.as_of_basis, sizeof(h.as_of_basis), "last-modified");
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_string_equal(back.as_of, "2024-05-01T10:00:00Z");
    assert_string_equal(back.as_of_basis, "last-modified");
    /* An older collector sends none: nothing is set. */
    h.as_of[0] = h.as_of_basis[0] = '\0';
    assert_int_equal(ss_proto_encode_header(&h, &b), 0);
    assert_null(strstr(b.data, "as_of"));
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 4096, &back, err, sizeof(err)), 0);
    assert_string_equal(back.as_of, "");
    /* Nor does the encoder send a bad one. */
    snprintf(h.as_of, sizeof(h.as_of), "2016-13-01");
    assert_int_equal(ss_proto_encode_header(&h, &b), SS_EINVAL);
    ss_buf_free(&b);
    assert_int_equal(ss_proto_valid_as_of("2016-07-01"), 1);
    assert_int_equal(ss_proto_valid_as_of("2016-07-01T24:00:00Z"), 0);
    assert_int_equal(ss_proto_valid_as_of("2016-7-1"), 0);
    assert_int_equal(ss_proto_valid_as_of("01/07/2016"), 0);
}

static void expect_refused(const char *json, const char *want)
{
    struct ss_header h;
    char err[256];
    assert_int_equal(ss_proto_decode_header(json, strlen(json), 4096, &h, err, sizeof(err)),
                     SS_EPROTO);
    assert_non_null(strstr(err, want));
}

static void test_proto_malformed_headers_refused(void **state)
{
    expect_refused("", "not valid JSON");
    expect_refused("{\"type\":\"batch\"", "not valid JSON");
    expect_refused("[1,2]", "not a JSON object");
    expect_refused("{\"type\":\"explode\"}", "\"type\" must be one of");
    expect_refused("{\"type\":\"batch\",\"source\":\"a b\",\"run_id\":\"r\",\"seq\":1}",
                   "\"source\" must be");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":-1}",
                   "\"seq\" must be an integer");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"records\":1}",
                   "\"fields\" missing");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,\"seq\":2}",
                   "not valid JSON");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":99999999999}",
                   "\"seq\" must be an integer");
    /* A name of 65 characters is one too many. */
    expect_refused("{\"type\":\"ping\",\"source\":"
                   "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                   "\"run_id\":\"r\",\"seq\":1}",
                   "\"source\" must be");
    /* Run records: an event and, at the end, an outcome from the lists. */
    expect_refused("{\"type\":\"run\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":0,"
                   "\"dataset\":\"loans\",\"event\":\"middle\"}",
                   "\"event\" must be one of begin, end");
    expect_refused("{\"type\":\"run\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"event\":\"end\",\"outcome\":\"fine\"}",
                   "\"outcome\" must be one of");
    expect_refused("{\"type\":\"run\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"event\":\"end\",\"outcome\":\"complete\","
                   "\"bytes\":-1}",
                   "\"bytes\" must be a non-negative integer");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"records\":1,\"fields\":8,\"partial\":1}",
                   "\"partial\" must be true or false");
}

static void test_proto_bad_as_of_refused(void **state)
{
    (void)state;
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"records\":1,\"fields\":8,\"as_of\":\"2016-07-01; "
                   "DROP\"}",
                   "\"as_of\" must be a date");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"records\":1,\"fields\":8,\"as_of\":20160701}",
                   "\"as_of\" must be a date");
    expect_refused("{\"type\":\"batch\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1,"
                   "\"dataset\":\"loans\",\"records\":1,\"fields\":8,\"as_of\":\"2016-07-01\","
                   "\"as_of_basis\":\"a-much-too-long-basis-name\"}",
                   "\"as_of_basis\" must be");
}

static void test_proto_header_over_limit_refused(void **state)
{
    struct ss_header h;
    char err[256];
    const char *json = "{\"type\":\"ping\",\"source\":\"a\",\"run_id\":\"r\",\"seq\":1}";
    assert_int_equal(ss_proto_decode_header(json, strlen(json), 10, &h, err, sizeof(err)),
                     SS_EPROTO);
    assert_non_null(strstr(err, "over the 10-byte limit"));
}

static void test_proto_unknown_version_refused_with_reason(void **state)
{
    char err[256];
    assert_int_equal(ss_proto_check_id("shelfsync/2", 11, 0, err, sizeof(err)), 2);
    assert_int_equal(ss_proto_check_id("shelfsync/1", 11, 1, err, sizeof(err)), 1);
    assert_int_equal(ss_proto_check_id("shelfsync/1", 11, 0, err, sizeof(err)), SS_EPROTO);
    assert_string_equal(err, "unsupported protocol version \"shelfsync/1\"; this peer speaks "
                             "shelfsync/2");
    assert_int_equal(ss_proto_check_id("shelfsync/3", 11, 1, err, sizeof(err)), SS_EPROTO);
    assert_string_equal(err, "unsupported protocol version \"shelfsync/3\"; this peer speaks "
                             "shelfsync/2 (and shelfsync/1)");
    assert_int_equal(ss_proto_check_id("GET / HTTP/1.1", 14, 1, err, sizeof(err)), SS_EPROTO);
    assert_non_null(strstr(err, "not a shelfsync message"));
    assert_int_equal(ss_proto_check_id("\x01\x02", 2, 1, err, sizeof(err)), SS_EPROTO);
}

static void test_payload_records_round_trip_with_absent_fields(void **state)
{
    struct ss_buf p;
    const char *v1[] = {"Barnet", NULL, "2019-04", ""};
    size_t l1[] = {6, 0, 7, 0};
    const char *v2[] = {"line 9: bad", "a,b"};
    size_t l2[] = {11, 3};
    const char *vals[8];
    size_t lens[8];
    struct ss_prec rec = {.vals = vals, .lens = lens};
    struct ss_payload_reader r;
    char err[256];

    ss_buf_init(&p, 1 << 20);
    assert_int_equal(ss_payload_add(&p, 2, 0, 4, v1, l1), 0);
    assert_int_equal(ss_payload_add(&p, 9, SS_REC_REJECTED, 2, v2, l2), 0);
    ss_payload_reader_init(&r, p.data, p.len, 8, 1000);
    assert_int_equal(ss_payload_next(&r, &rec, err, sizeof(err)), 1);
    assert_int_equal(rec.line, 2);
    assert_int_equal(rec.flags, 0);
    assert_int_equal(rec.nfields, 4);
    assert_memory_equal(rec.vals[0], "Barnet", 6);
    assert_null(rec.vals[1]);
    assert_int_equal(rec.lens[2], 7);
    assert_non_null(rec.vals[3]);
    assert_int_equal(rec.lens[3], 0);
    assert_int_equal(ss_payload_next(&r, &rec, err, sizeof(err)), 1);
    assert_int_equal(rec.line, 9);
    assert_int_equal(rec.flags, SS_REC_REJECTED);
    assert_int_equal(ss_payload_next(&r, &rec, err, sizeof(err)), 0);
    ss_buf_free(&p);
}

static void test_payload_add_is_all_or_nothing_at_the_limit(void **state)
{
    struct ss_buf p;
    const char *v[] = {"0123456789"};
    size_t l[] = {10};
    ss_buf_init(&p, 30);
    assert_int_equal(ss_payload_add(&p, 1, 0, 1, v, l), 0); /* 7 + 4 + 10 = 21 bytes */
    assert_int_equal(p.len, 21);
    assert_int_equal(ss_payload_add(&p, 2, 0, 1, v, l), -E2BIG);
    assert_int_equal(p.len, 21);
    ss_buf_free(&p);
}

static void expect_payload_error(const unsigned char *data, size_t len, size_t max_fields,
                                 size_t max_field, const char *want)
{
    const char *vals[8];
    size_t lens[8];
    struct ss_prec rec = {.vals = vals, .lens = lens};
    struct ss_payload_reader r;
    char err[256];
    int rc;
    ss_payload_reader_init(&r, data, len, max_fields, max_field);
    while ((rc = ss_payload_next(&r, &rec, err, sizeof(err))) == 1)
        ;
    assert_int_equal(rc, SS_EPROTO);
    assert_non_null(strstr(err, want));
}

static void test_payload_malformed_refused(void **state)
{
    /* line=1, flags=0, nfields=1, len=5, "ab" (3 bytes short) */
    const unsigned char short_field[] = {1, 0, 0, 0, 0, 1, 0, 5, 0, 0, 0, 'a', 'b'};
    expect_payload_error(short_field, sizeof(short_field), 8, 100, "5 bytes announced, 2 left");
    const unsigned char trunc_hdr[] = {1, 0, 0};
    expect_payload_error(trunc_hdr, sizeof(trunc_hdr), 8, 100, "truncated record header");
    const unsigned char many[] = {1, 0, 0, 0, 0, 0xff, 0xff};
    expect_payload_error(many, sizeof(many), 8, 100, "65535 fields, more than the 8 allowed");
    const unsigned char big[] = {1, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f};
    expect_payload_error(big, sizeof(big), 8, 100, "more than the 100 allowed");
    const unsigned char flags[] = {1, 0, 0, 0, 0x80, 0, 0};
    expect_payload_error(flags, sizeof(flags), 8, 100, "unknown flags");
    const unsigned char nolen[] = {1, 0, 0, 0, 0, 1, 0, 5, 0};
    expect_payload_error(nolen, sizeof(nolen), 8, 100, "truncated length");
}

static void test_proto_long_reason_cut_on_a_character_boundary(void **state)
{
    /* Found by fuzz_proto: a reason cut inside a UTF-8 character could not be
     * encoded again. */
    struct ss_header h, back, again;
    struct ss_buf b;
    char err[256];
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_ACK;
    strcpy(h.source, "s");
    strcpy(h.run_id, "r");
    h.status = SS_ACK_REFUSED;
    ss_buf_init(&b, 1 << 16);
    ss_buf_adds(&b, "{\"type\":\"ack\",\"source\":\"s\",\"run_id\":\"r\",\"seq\":1,"
                    "\"status\":\"refused\",\"reason\":\"");
    for (int i = 0; i < 300; i++)
        ss_buf_adds(&b, "\xC3\xA9"); /* 600 bytes of e-acute */
    ss_buf_adds(&b, "\"}");
    assert_int_equal(ss_proto_decode_header(b.data, b.len, 1 << 16, &back, err, sizeof(err)), 0);
    assert_true(strlen(back.reason) <= SS_PROTO_REASON_MAX);
    assert_int_equal(strlen(back.reason) % 2, 0); /* whole characters only */
    struct ss_buf enc;
    ss_buf_init(&enc, 1 << 16);
    assert_int_equal(ss_proto_encode_header(&back, &enc), 0);
    assert_int_equal(ss_proto_decode_header(enc.data, enc.len, 1 << 16, &again, err, sizeof(err)),
                     0);
    assert_string_equal(again.reason, back.reason);
    ss_buf_free(&enc);
    ss_buf_free(&b);
    (void)h;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_batch_header_round_trips),
        cmocka_unit_test(test_proto_ack_round_trips_with_reason),
        cmocka_unit_test(test_proto_run_records_round_trip),
        cmocka_unit_test(test_proto_run_end_outbox_batches_optional),
        cmocka_unit_test(test_proto_batch_partial_flag_round_trips),
        cmocka_unit_test(test_proto_batch_as_of_round_trips_and_is_optional),
        cmocka_unit_test(test_proto_bad_as_of_refused),
        cmocka_unit_test(test_proto_malformed_headers_refused),
        cmocka_unit_test(test_proto_header_over_limit_refused),
        cmocka_unit_test(test_proto_unknown_version_refused_with_reason),
        cmocka_unit_test(test_payload_records_round_trip_with_absent_fields),
        cmocka_unit_test(test_payload_add_is_all_or_nothing_at_the_limit),
        cmocka_unit_test(test_payload_malformed_refused),
        cmocka_unit_test(test_proto_long_reason_cut_on_a_character_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
