/* ss_report: `shelfsync trends` and `shelfsync report`, read-only views of
 * the warehouse for people.
 *
 * trends: the services bucking England's trend in a measure and how they
 * differ from their ONS nearest neighbours (core.v_bucking_characteristics
 * and its _summary), as text or JSON.
 *
 * report: one self-contained HTML page for a library service manager about
 * one authority and year (inline CSS, inline SVG from ss_svg.c, no script,
 * no external reference, print-ready): headline measures per 1,000 against
 * the nearest neighbours and England, trends over the years held, where it
 * bucks the trend, and completeness and quality notes. Every figure carries
 * data-source (the view it comes from), data-measure, data-field and
 * data-value (the view's exact value), so it can be traced and checked.
 * docs/warehouse.md ("The report") says what each figure is.
 *
 * Both build one JSON document in SQL and render it in C; both take the
 * admin tool's warehouse opener so they share its config handling.
 */
#ifndef SS_REPORT_H
#define SS_REPORT_H

#include "ss_config.h"
#include "ss_warehouse.h"

/* Opens the warehouse a daemon config names (NULL, said on stderr, on failure). */
typedef struct ss_wh *(*ss_report_open_fn)(const char *config, struct ss_daemon_config *cfg);

/* `shelfsync trends ...` (argv[0] "trends"): the exit status (0 done, 1
 * failed, 2 usage). */
int ss_report_trends_cmd(int argc, char **argv, ss_report_open_fn open_wh);

/* `shelfsync report ...` (argv[0] "report"): the exit status (0 written, 1
 * failed, 2 usage). */
int ss_report_cmd(int argc, char **argv, ss_report_open_fn open_wh);

#endif
