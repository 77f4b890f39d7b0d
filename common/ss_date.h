/* ss_date: calendar dates, as both programs read them.
 *
 * One parser for each form a library export writes a date or a period in:
 * ISO 8601 dates (and UK dd/mm/yyyy), months (YYYY-MM), periods
 * (START/END, START/DURATION, financial years "2023-24"). Years outside
 * 1900-2199 are refused, so every date parsed here fits a PostgreSQL date.
 * Pure functions. Each returns 0, or SS_EINVAL with *why pointing at a
 * short static reason (ss_err.h).
 */
#ifndef SS_DATE_H
#define SS_DATE_H

#include <stddef.h>

struct ss_date {
    int y, m, d;
};

/* The value of exactly n decimal digits at s: 0, or SS_EINVAL. */
int ss_digits(const char *s, size_t n, int *out);
/* Days in month m (1-12) of year y. */
int ss_days_in_month(int y, int m);

int ss_parse_date(const char *s, size_t len, struct ss_date *out, const char **why);
int ss_parse_month(const char *s, size_t len, struct ss_date *start, struct ss_date *end,
                   const char **why);
/* A period: START/END, START/DURATION (ISO 8601) or a financial year label
 * ("2023-24", "2023/24", "2023/2024": 1 April to 31 March). */
/* An ISO 8601 duration of whole years, months, weeks and days, upper case:
 * P1M, P3M, P1Y, P7D, P1Y6M. 0 with the parts, or SS_EINVAL (also past 400
 * years in all). */
int ss_parse_duration(const char *s, size_t len, int *years, int *months, long *days);

/* The last day of a period that starts on start and lasts the duration:
 * the months added on the calendar (the day kept within the month), then
 * the days, then the day before. */
struct ss_date ss_duration_end(struct ss_date start, int years, int months, long days);

int ss_parse_period(const char *s, size_t len, struct ss_date *start, struct ss_date *end,
                    const char **why);
/* A financial year label exactly as the returns write it, "2023-24": four
 * digits from 1900 to 2198, a hyphen, the next year's last two digits. 0
 * with *start the calendar year it starts in (1 April), or -EINVAL. */
int ss_fy_label(const char *s, int *start);

/* Days since 1970-01-01 and back. */
long ss_date_to_days(struct ss_date d);
struct ss_date ss_days_to_date(long days);

#endif
