/* ss_date: see ss_date.h. */
#include "ss_date.h"

#include <errno.h>
#include <string.h>

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ss_days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly n digits. */
int ss_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int check_ymd(struct ss_date d, const char **why)
{
    if (d.y < 1900 || d.y > 2199) {
        *why = "year out of range 1900-2199";
        return -EINVAL;
    }
    if (d.m < 1 || d.m > 12) {
        *why = "no such month";
        return -EINVAL;
    }
    if (d.d < 1 || d.d > ss_days_in_month(d.y, d.m)) {
        *why = "no such day";
        return -EINVAL;
    }
    return 0;
}

int ss_parse_date(const char *s, size_t len, struct ss_date *out, const char **why)
{
    struct ss_date d;
    if (len == 10 && s[4] == '-' && s[7] == '-' && ss_digits(s, 4, &d.y) == 0 &&
        ss_digits(s + 5, 2, &d.m) == 0 && ss_digits(s + 8, 2, &d.d) == 0) {
        /* ISO 8601, as the schemas say */
    } else if (len == 10 && s[2] == '/' && s[5] == '/' && ss_digits(s, 2, &d.d) == 0 &&
               ss_digits(s + 3, 2, &d.m) == 0 && ss_digits(s + 6, 4, &d.y) == 0) {
        /* dd/mm/yyyy, as UK spreadsheets write it */
    } else {
        *why = "not a date (expected YYYY-MM-DD or DD/MM/YYYY)";
        return -EINVAL;
    }
    if (check_ymd(d, why) < 0)
        return -EINVAL;
    *out = d;
    return 0;
}

int ss_parse_month(const char *s, size_t len, struct ss_date *start, struct ss_date *end,
                   const char **why)
{
    struct ss_date d = {0, 0, 1};
    if (!(len == 7 && s[4] == '-' && ss_digits(s, 4, &d.y) == 0 &&
          ss_digits(s + 5, 2, &d.m) == 0)) {
        *why = "not a month (expected YYYY-MM)";
        return -EINVAL;
    }
    if (check_ymd(d, why) < 0)
        return -EINVAL;
    *start = d;
    *end = d;
    end->d = ss_days_in_month(d.y, d.m);
    return 0;
}

/* Howard Hinnant's days-from-civil algorithm. */
long ss_date_to_days(struct ss_date dt)
{
    long y = dt.y - (dt.m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (dt.m + (dt.m > 2 ? -3 : 9)) + 2) / 5 + dt.d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct ss_date ss_days_to_date(long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    struct ss_date d;
    d.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    d.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    d.y = (int)(y + (d.m <= 2));
    return d;
}

/* Parts may repeat (P1Y1Y), so the totals are capped as they grow: far beyond
 * any real count period, and well short of overflowing an int. */
#define SS_DURATION_MAX_YEARS 400
int ss_parse_duration(const char *s, size_t len, int *years, int *months, long *days)
{
    size_t i = 1;
    int any = 0;
    *years = *months = 0;
    *days = 0;
    if (len < 3 || s[0] != 'P')
        return -EINVAL;
    while (i < len) {
        long v = 0;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 5)
            v = v * 10 + (s[i++] - '0');
        if (i == start || i >= len)
            return -EINVAL;
        switch (s[i++]) {
        case 'Y':
            *years += (int)v;
            break;
        case 'M':
            *months += (int)v;
            break;
        case 'W':
            *days += v * 7;
            break;
        case 'D':
            *days += v;
            break;
        default:
            return -EINVAL;
        }
        if (*years > SS_DURATION_MAX_YEARS || *months > 12 * SS_DURATION_MAX_YEARS ||
            *days > 366L * SS_DURATION_MAX_YEARS)
            return -EINVAL;
        any = 1;
    }
    return any ? 0 : -EINVAL;
}

struct ss_date ss_duration_end(struct ss_date start, int years, int months, long days)
{
    struct ss_date e = start;
    long total_months = (long)e.m - 1 + months + 12L * years;
    e.y += (int)(total_months / 12);
    e.m = (int)(total_months % 12) + 1;
    if (e.d > ss_days_in_month(e.y, e.m))
        e.d = ss_days_in_month(e.y, e.m);
    return ss_days_to_date(ss_date_to_days(e) + days - 1);
}

int ss_parse_period(const char *s, size_t len, struct ss_date *start, struct ss_date *end,
                    const char **why)
{
    /* Financial years: 2023-24, 2023/24, 2023/2024. */
    int y1, y2;
    if ((len == 7 || len == 9) && (s[4] == '-' || s[4] == '/') && ss_digits(s, 4, &y1) == 0 &&
        ss_digits(s + 5, len - 5, &y2) == 0 && (len == 7 ? y2 == (y1 + 1) % 100 : y2 == y1 + 1)) {
        *start = (struct ss_date){y1, 4, 1};
        *end = (struct ss_date){y1 + 1, 3, 31};
        /* Both ends: 2199-00 starts in range but ends in 2200. */
        if (check_ymd(*start, why) < 0 || check_ymd(*end, why) < 0)
            return -EINVAL;
        return 0;
    }
    const char *slash = memchr(s, '/', len);
    if (!slash) {
        *why = "not a period (expected START/END or START/DURATION, e.g. 2023-04-01/P1M)";
        return -EINVAL;
    }
    size_t l1 = (size_t)(slash - s), l2 = len - l1 - 1;
    if (ss_parse_date(s, l1, start, why) < 0)
        return -EINVAL;
    const char *rest = slash + 1;
    if (l2 && rest[0] == 'P') {
        int years, months;
        long days;
        if (ss_parse_duration(rest, l2, &years, &months, &days) < 0) {
            *why = "not an ISO 8601 duration (expected e.g. P1M, P3M, P1Y, P7D)";
            return -EINVAL;
        }
        *end = ss_duration_end(*start, years, months, days);
        if (ss_date_to_days(*end) < ss_date_to_days(*start)) {
            *why = "empty duration";
            return -EINVAL;
        }
        /* The end goes to PostgreSQL as a date too: keep it in the range a
         * parsed date has (an end in year 4000 would fail the batch's COPY). */
        if (check_ymd(*end, why) < 0) {
            *why = "period ends after 2199-12-31";
            return -EINVAL;
        }
        return 0;
    }
    if (ss_parse_date(rest, l2, end, why) < 0)
        return -EINVAL;
    if (ss_date_to_days(*end) < ss_date_to_days(*start)) {
        *why = "period ends before it starts";
        return -EINVAL;
    }
    return 0;
}

int ss_fy_label(const char *s, int *start)
{
    int y1, y2;
    if (!s || strlen(s) != 7 || s[4] != '-' || ss_digits(s, 4, &y1) < 0 ||
        ss_digits(s + 5, 2, &y2) < 0 || y1 < 1900 || y1 > 2198 || y2 != (y1 + 1) % 100)
        return -EINVAL;
    *start = y1;
    return 0;
}
