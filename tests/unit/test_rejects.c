/* The reject summary of an ack: reasons counted by class, the first lines
 * kept, merged over batches, and carried in the ack within its budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ss_proto.h"
#include "ss_rejects.h"

static void test_reject_class_drops_the_value(void **state)
{
    char cls[SS_PROTO_REASON_MAX + 1], field[SS_REJECTS_FIELD_MAX + 1];
    (void)state;
    ss_reject_class("\"authority\" is \"Barnt\": not a known authority", cls, sizeof(cls), field,
                    sizeof(field));
    assert_string_equal(cls, "\"authority\": not a known authority");
    assert_string_equal(field, "authority");
    ss_reject_class("\"month\": required value missing", cls, sizeof(cls), field, sizeof(field));
    assert_string_equal(cls, "\"month\": required value missing");
    assert_string_equal(field, "month");
    ss_reject_class("line 12 repeats line 3 exactly (same 2024-04): not loaded twice", cls,
                    sizeof(cls), field, sizeof(field));
    assert_string_equal(cls, "line N repeats line N exactly (same N-N): not loaded twice");
    assert_string_equal(field, "");
    /* Not the validator's form after all: kept whole (numbers as N). */
    ss_reject_class("\"odd\" quote 7", cls, sizeof(cls), field, sizeof(field));
    assert_string_equal(cls, "\"odd\" quote N");
    assert_string_equal(field, "");
}

static void test_rejects_count_and_keep_first_lines(void **state)
{
    struct ss_rejects *rj = malloc(sizeof(*rj));
    char reason[64], raw[16];
    (void)state;
    ss_rejects_reset(rj);
    for (unsigned i = 0; i < 100; i++) {
        snprintf(reason, sizeof(reason), "\"loans\" is \"x%u\": not a whole number", i);
        snprintf(raw, sizeof(raw), "a,b,x%u", i);
        ss_rejects_add(rj, i + 2, reason, raw, strlen(raw));
    }
    /* More classes than room: the rest counted as other. */
    for (unsigned i = 0; i < SS_REJECTS_REASONS + 3; i++) {
        snprintf(reason, sizeof(reason), "\"f%u\": required value missing", i);
        ss_rejects_add(rj, 500 + i, reason, "", 0);
    }
    assert_int_equal(rj->total, 100 + SS_REJECTS_REASONS + 3);
    assert_int_equal(rj->nreasons, SS_REJECTS_REASONS);
    assert_int_equal(rj->reasons[0].count, 100);
    assert_string_equal(rj->reasons[0].field, "loans");
    assert_int_equal(rj->other, 4);
    assert_int_equal(rj->nlines, SS_REJECTS_LINES);
    assert_int_equal(rj->lines[0].line, 2);
    assert_string_equal(rj->lines[0].raw, "a,b,x0");
    assert_string_equal(rj->lines[1].reason, "\"loans\" is \"x1\": not a whole number");
    free(rj);
}

static void test_rejects_raw_cut_on_a_character_boundary(void **state)
{
    struct ss_rejects *rj = malloc(sizeof(*rj));
    char raw[SS_REJECTS_RAW_MAX + 8];
    (void)state;
    ss_rejects_reset(rj);
    memset(raw, 'a', sizeof(raw));
    raw[SS_REJECTS_RAW_MAX - 1] = (char)0xC3; /* é across the cut */
    raw[SS_REJECTS_RAW_MAX] = (char)0xA9;
    ss_rejects_add(rj, 1, "\"x\": bad", raw, sizeof(raw));
    assert_int_equal(strlen(rj->lines[0].raw), SS_REJECTS_RAW_MAX - 1);
    assert_true(rj->lines[0].raw_cut);
    free(rj);
}

static void test_rejects_merge_sums_by_class(void **state)
{
    struct ss_rejects *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    (void)state;
    ss_rejects_reset(a);
    ss_rejects_reset(b);
    ss_rejects_add(b, 4, "\"loans\" is \"x\": not a whole number", "r", 1);
    ss_rejects_add(b, 5, "\"month\" is \"2024-13\": no such month", "r", 1);
    ss_rejects_merge(a, b, 2);
    ss_rejects_merge(a, b, 2);
    /* A batch whose ack had no summary (or a cut one): counted as other. */
    ss_rejects_reset(b);
    ss_rejects_merge(a, b, 7);
    assert_int_equal(a->total, 11);
    assert_int_equal(a->nreasons, 2);
    assert_int_equal(a->reasons[0].count, 2);
    assert_int_equal(a->reasons[1].count, 2);
    assert_int_equal(a->other, 7);
    assert_int_equal(a->nlines, 4);
    free(a);
    free(b);
}

static struct ss_header ack_header(void)
{
    struct ss_header h;
    memset(&h, 0, sizeof(h));
    h.type = SS_MSG_ACK;
    strcpy(h.source, "barnet-loans");
    strcpy(h.run_id, "20261128T120000Z-0a1b2c3d");
    h.seq = 3;
    h.status = SS_ACK_APPLIED;
    h.accepted = 4;
    h.quarantined = 2;
    return h;
}

static void test_ack_rejects_round_trip(void **state)
{
    struct ss_rejects *rj = malloc(sizeof(*rj)), *back = malloc(sizeof(*back));
    struct ss_header h = ack_header(), got;
    struct ss_buf out;
    char err[256];
    (void)state;
    ss_buf_init(&out, SS_PROTO_HEADER_MAX);
    ss_rejects_reset(rj);
    ss_rejects_add(rj, 4, "\"loans\" is \"twelve\": not a whole number", "a,\"b\",twelve\n", 14);
    ss_rejects_add(rj, 9, "\"authority\": required value missing", ",x", 2);
    assert_int_equal(ss_proto_encode_ack(&h, rj, &out), 0);
    /* The ack itself decodes as before; the summary apart. */
    assert_int_equal(
        ss_proto_decode_header(out.data, out.len, SS_PROTO_HEADER_MAX, &got, err, sizeof(err)), 0);
    assert_int_equal(got.quarantined, 2);
    assert_int_equal(ss_proto_decode_rejects(out.data, out.len, back, err, sizeof(err)), 1);
    assert_int_equal(back->total, 2);
    assert_int_equal(back->nreasons, 2);
    assert_string_equal(back->reasons[0].reason, "\"loans\": not a whole number");
    assert_int_equal(back->nlines, 2);
    assert_int_equal(back->lines[0].line, 4);
    assert_string_equal(back->lines[0].field, "loans");
    assert_string_equal(back->lines[0].raw, "a,\"b\",twelve\n");
    assert_string_equal(back->lines[1].reason, "\"authority\": required value missing");

    /* No summary: none decoded. */
    ss_rejects_reset(rj);
    assert_int_equal(ss_proto_encode_ack(&h, rj, &out), 0);
    assert_null(strstr(out.data, "rejects"));
    assert_int_equal(ss_proto_decode_rejects(out.data, out.len, back, err, sizeof(err)), 0);
    assert_int_equal(back->total, 0);
    ss_buf_free(&out);
    free(rj);
    free(back);
}

static void test_ack_rejects_kept_within_budget(void **state)
{
    struct ss_rejects *rj = malloc(sizeof(*rj)), *back = malloc(sizeof(*back));
    struct ss_header h = ack_header();
    struct ss_buf out;
    char err[256], reason[SS_PROTO_REASON_MAX + 1], raw[SS_REJECTS_RAW_MAX];
    (void)state;
    ss_buf_init(&out, SS_PROTO_HEADER_MAX);
    ss_rejects_reset(rj);
    /* Control characters escape to six bytes each: far over the budget. */
    memset(raw, 0x01, sizeof(raw));
    for (unsigned i = 0; i < 200; i++) {
        int n = snprintf(reason, sizeof(reason), "\"f%u\": ", i % 40);
        memset(reason + n, 0x02, sizeof(reason) - (size_t)n - 1);
        reason[sizeof(reason) - 1] = '\0';
        ss_rejects_add(rj, i, reason, raw, sizeof(raw));
    }
    assert_int_equal(ss_proto_encode_ack(&h, rj, &out), 0);
    assert_true(out.len <= SS_PROTO_ACK_REJECTS_MAX);
    assert_int_equal(ss_proto_decode_rejects(out.data, out.len, back, err, sizeof(err)), 1);
    assert_true(back->nlines < SS_REJECTS_LINES || back->nreasons < SS_REJECTS_REASONS);
    uint32_t counted = back->other;
    for (size_t i = 0; i < back->nreasons; i++)
        counted += back->reasons[i].count;
    assert_int_equal(counted, 200); /* what was left out still counts */
    ss_buf_free(&out);
    free(rj);
    free(back);
}

static void test_ack_rejects_malformed_refused(void **state)
{
    struct ss_rejects *back = malloc(sizeof(*back));
    char err[256];
    static const char *bad[] = {
        "{\"type\":\"ack\",\"rejects\":[]}",
        "{\"type\":\"ack\",\"rejects\":{\"total\":1,\"reasons\":{}}}",
        "{\"type\":\"ack\",\"rejects\":{\"reasons\":[]}}",
        "{\"type\":\"ack\",\"rejects\":{\"total\":1,\"reasons\":[{\"count\":1}]}}",
        "{\"type\":\"ack\",\"rejects\":{\"total\":1,\"reasons\":[{\"reason\":\"x\",\"count\":-1}]}"
        "}",
        "{\"type\":\"ack\",\"rejects\":{\"total\":1,\"lines\":[{\"line\":1}]}}",
        "{\"type\":\"ack\",\"rejects\":{\"total\":1,\"lines\":[7]}}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(ss_proto_decode_rejects(bad[i], strlen(bad[i]), back, err, sizeof(err)),
                         SS_EPROTO);
        assert_true(err[0] != '\0');
    }
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_class_drops_the_value),
        cmocka_unit_test(test_rejects_count_and_keep_first_lines),
        cmocka_unit_test(test_rejects_raw_cut_on_a_character_boundary),
        cmocka_unit_test(test_rejects_merge_sums_by_class),
        cmocka_unit_test(test_ack_rejects_round_trip),
        cmocka_unit_test(test_ack_rejects_kept_within_budget),
        cmocka_unit_test(test_ack_rejects_malformed_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
