/* ss_svg: inline SVG charts for the report (see ss_svg.h). */
#include "ss_svg.h"

#include <errno.h>
#include <math.h>

#include "ss_err.h"

#define W 640.0     /* chart width, user units */
#define LABEL_W 190 /* room for bar labels */
#define BAR_H 18.0
#define BAR_GAP 6.0
#define TOP 28.0 /* room for the title */
#define ACCENT "#b5452a"
#define INK "#3b5b7a"
#define FAINT "#9aa7b4"

void ss_svg_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static int done(FILE *f)
{
    return ferror(f) ? -EIO : 0;
}

static void open_svg(FILE *f, const char *kind, const char *title, double h)
{
    fprintf(f,
            "<svg class=\"chart %s\" viewBox=\"0 0 %.2f %.2f\""
            " role=\"img\" aria-label=\"",
            kind, W, h);
    ss_svg_escape(f, title);
    fputs("\"><title>", f);
    ss_svg_escape(f, title);
    fprintf(f, "</title><text class=\"t\" x=\"0\" y=\"16\">");
    ss_svg_escape(f, title);
    fputs("</text>", f);
}

/* The largest finite value, at least 0 (and above 0, so it divides). */
static double max_finite(const struct ss_svg_point *p, size_t n, double also)
{
    double m = isfinite(also) && also > 0 ? also : 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(p[i].value) && p[i].value > m)
            m = p[i].value;
    return m > 0 ? m : 1;
}

static void no_data(FILE *f, double y)
{
    fprintf(f, "<text class=\"nodata\" x=\"%.2f\" y=\"%.2f\">no data</text>", W / 2, y);
}

int ss_svg_bar_chart(FILE *f, const char *title, const struct ss_svg_point *p, size_t n)
{
    if (!f || (n && !p))
        return SS_EINVAL;
    double h = TOP + (n ? (double)n * (BAR_H + BAR_GAP) : 30) + 4;
    double max = max_finite(p, n, 0), span = W - LABEL_W - 70;
    open_svg(f, "bar", title, h);
    if (!n)
        no_data(f, TOP + 18);
    for (size_t i = 0; i < n; i++) {
        double y = TOP + (double)i * (BAR_H + BAR_GAP);
        fprintf(f, "<text class=\"l\" x=\"%d\" y=\"%.2f\" text-anchor=\"end\">", LABEL_W - 6,
                y + BAR_H - 5);
        ss_svg_escape(f, p[i].label);
        fputs("</text>", f);
        if (!isfinite(p[i].value)) {
            fprintf(f, "<text class=\"missing\" x=\"%d\" y=\"%.2f\">no figure</text>", LABEL_W,
                    y + BAR_H - 5);
            continue;
        }
        double v = p[i].value > 0 ? p[i].value : 0, bw = span * v / max;
        fprintf(f,
                "<rect x=\"%d\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>"
                "<text class=\"v\" x=\"%.2f\" y=\"%.2f\">%.2f</text>",
                LABEL_W, y, bw, BAR_H, p[i].highlight ? ACCENT : INK, LABEL_W + bw + 4,
                y + BAR_H - 5, p[i].value);
    }
    fputs("</svg>", f);
    return done(f);
}

int ss_svg_strip_plot(FILE *f, const char *title, const struct ss_svg_point *p, size_t n,
                      double median)
{
    if (!f || (n && !p))
        return SS_EINVAL;
    const double left = 20, span = W - 40, axis = TOP + 40, h = axis + 30;
    double max = max_finite(p, n, median);
    size_t drawn = 0;
    open_svg(f, "strip", title, h);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>", left, axis,
            left + span, axis, FAINT);
    fprintf(f,
            "<text class=\"l\" x=\"%.2f\" y=\"%.2f\">0</text>"
            "<text class=\"l\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%.2f</text>",
            left, axis + 16, left + span, axis + 16, max);
    if (isfinite(median)) {
        double x = left + span * (median > 0 ? median : 0) / max;
        fprintf(f,
                "<line class=\"median\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                "stroke=\"%s\" stroke-dasharray=\"4 3\"/>"
                "<text class=\"l\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">median %.2f</text>",
                x, axis - 22, x, axis + 6, INK, x, axis + 16, median);
    }
    /* The peers first, the highlighted dot last, so it is on top. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (!!p[i].highlight != pass || !isfinite(p[i].value))
                continue;
            double x = left + span * (p[i].value > 0 ? p[i].value : 0) / max;
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%d\" fill=\"%s\" fill-opacity=\"%s\">",
                    x, axis - 8, pass ? 7 : 5, pass ? ACCENT : INK, pass ? "1" : "0.6");
            fputs("<title>", f);
            ss_svg_escape(f, p[i].label);
            fprintf(f, ": %.2f</title></circle>", p[i].value);
            drawn++;
        }
    }
    if (!drawn)
        no_data(f, axis - 12);
    fputs("</svg>", f);
    return done(f);
}

int ss_svg_line_chart(FILE *f, const char *title, const char *const *xlabels, size_t nx,
                      const struct ss_svg_series *s, size_t ns)
{
    if (!f || (nx && !xlabels) || (ns && !s))
        return SS_EINVAL;
    const double left = 60, right = W - 20, top = TOP + 24, bottom = TOP + 154, h = bottom + 26;
    double max = 0;
    for (size_t j = 0; j < ns; j++)
        for (size_t i = 0; i < nx; i++)
            if (s[j].values && isfinite(s[j].values[i]) && s[j].values[i] > max)
                max = s[j].values[i];
    if (max <= 0)
        max = 1;
    open_svg(f, "line", title, h);
    fprintf(f,
            "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"/>"
            "<text class=\"l\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%.2f</text>"
            "<text class=\"l\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">0</text>",
            left, bottom, right, bottom, FAINT, left - 4, top + 4, max, left - 4, bottom);
    double step = nx > 1 ? (right - left) / (double)(nx - 1) : 0;
    for (size_t i = 0; i < nx; i++) {
        double x = nx > 1 ? left + step * (double)i : (left + right) / 2;
        fprintf(f, "<text class=\"l\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", x,
                bottom + 16);
        ss_svg_escape(f, xlabels[i]);
        fputs("</text>", f);
    }
    int any = 0;
    for (size_t j = 0; j < ns; j++) {
        const char *colour = s[j].highlight ? ACCENT : INK;
        int open = 0; /* inside a <path d="..."> run */
        for (size_t i = 0; i <= nx; i++) {
            int have = i < nx && s[j].values && isfinite(s[j].values[i]);
            if (!have) {
                if (open)
                    fputs("\"/>", f);
                open = 0;
                continue;
            }
            double x = nx > 1 ? left + step * (double)i : (left + right) / 2;
            double v = s[j].values[i] > 0 ? s[j].values[i] : 0;
            double y = bottom - (bottom - top) * v / max;
            int alone_before = i == 0 || !isfinite(s[j].values[i - 1]);
            int alone_after = i + 1 >= nx || !isfinite(s[j].values[i + 1]);
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"><title>", x, y,
                    colour);
            ss_svg_escape(f, s[j].name);
            fputs(" ", f);
            ss_svg_escape(f, xlabels[i]);
            fprintf(f, ": %.2f</title></circle>", s[j].values[i]);
            any = 1;
            if (alone_before && alone_after)
                continue;
            if (!open) {
                fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"M%.2f %.2f",
                        colour, x, y);
                open = 1;
            } else {
                fprintf(f, " L%.2f %.2f", x, y);
            }
        }
    }
    /* The legend. */
    for (size_t j = 0; j < ns; j++) {
        if (!s[j].name)
            continue;
        double lx = left + 170.0 * (double)j;
        fprintf(f,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"12\" height=\"4\" fill=\"%s\"/>"
                "<text class=\"l\" x=\"%.2f\" y=\"%.2f\">",
                lx, TOP + 2, s[j].highlight ? ACCENT : INK, lx + 16, TOP + 8);
        ss_svg_escape(f, s[j].name);
        fputs("</text>", f);
    }
    if (!any)
        no_data(f, (top + bottom) / 2);
    fputs("</svg>", f);
    return done(f);
}
