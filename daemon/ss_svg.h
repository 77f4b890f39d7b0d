/* ss_svg: small inline SVG charts for the HTML report (ss_report.c): a
 * horizontal bar chart, a strip (dot) plot of one authority among its peers
 * and a line chart over years. No I/O but writing to the caller's FILE; no
 * JavaScript, no external references, fixed fonts from the page's CSS.
 *
 * Every text (titles, labels) is XML-escaped; every number is written with
 * "%.2f" (C locale digits). A value that is NaN or infinite is "missing": a
 * bar is left out and labelled "no figure", a dot is not drawn, a line
 * breaks into a gap — never drawn as 0. An empty series draws the frame and
 * "no data". The caller owns everything it passes in.
 *
 * Each function returns 0, or SS_EINVAL (bad arguments) or -EIO (the write
 * failed: ferror on f).
 */
#ifndef SS_SVG_H
#define SS_SVG_H

#include <stddef.h>
#include <stdio.h>

/* One bar, or one dot. */
struct ss_svg_point {
    const char *label; /* shown beside the bar / in the dot's <title>; NULL: none */
    double value;      /* NaN: missing */
    int highlight;     /* drawn in the accent colour (the authority itself) */
};

/* One line of a line chart: values[i] belongs to the chart's xlabels[i]. */
struct ss_svg_series {
    const char *name;     /* the legend; NULL: none */
    const double *values; /* nx values, NaN: missing (a gap) */
    int highlight;
};

/* Writes s with & < > " ' escaped (for element text and attribute values). */
void ss_svg_escape(FILE *f, const char *s);

/* A horizontal bar chart, one bar per point, scaled to the largest finite
 * value (at least 0). */
int ss_svg_bar_chart(FILE *f, const char *title, const struct ss_svg_point *p, size_t n);

/* A strip plot on one axis: each point a dot (the highlighted one larger, in
 * the accent colour), and a vertical line at median when finite. */
int ss_svg_strip_plot(FILE *f, const char *title, const struct ss_svg_point *p, size_t n,
                      double median);

/* A line chart over nx x positions (labels xlabels), one polyline per series;
 * a missing value breaks the line, and a value standing alone is a dot. */
int ss_svg_line_chart(FILE *f, const char *title, const char *const *xlabels, size_t nx,
                      const struct ss_svg_series *s, size_t ns);

#endif
