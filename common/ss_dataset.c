/* ss_dataset: the one table of core-dataset definitions. See ss_dataset.h.
 *
 * Header names are the published ones: the LibrariesHacked public library
 * open-data schemas (current and older versions) and the Arts Council
 * England activity collection in its tidy long form, so a file in any
 * published version maps without configuration. Datasets the core dataset
 * lists but no open schema defines yet (workforce, finance, transaction-level
 * loans) are defined here in the same style.
 */
#include "ss_dataset.h"

#include <stdio.h>
#include <string.h>

/* ---- code lists ---- */

static const char *const outcomes[] = {
    "Cultural and creative enrichment",      "Increased reading and literacy",
    "Increased digital access and literacy", "Helping everyone achieve their full potential",
    "Healthier and happier lives",           "Greater prosperity",
    "Stronger more resilient communities",   NULL};
static const char *const stop_types[] = {"Public", "Private", "Dynamic", "Other", NULL};
static const char *const formats[] = {"Physical book", "Physical audiobook", "Ebook", "Eaudio",
                                      NULL};
static const char *const age_groups[] = {"Adult", "Under 12", "12-17", "All ages", "Unknown", NULL};
static const char *const locations[] = {"Library", "Shared building", "Mobile library",
                                        "Home delivery", NULL};
static const char *const event_types[] = {"Physical", "Digital", NULL};
static const char *const roles[] = {"Staff", "Volunteer", NULL};
static const char *const directions[] = {"Income", "Expenditure", NULL};
static const char *const library_types[] = {"LAL", "LAL-", "CL", "CRL", "ICL", NULL};
static const char *const sp_statuses[] = {"Open", "Closed", "Temporarily closed", NULL};
static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday",    NULL};

static const struct ss_code_list code_lists[] = {
    {"outcome", outcomes},
    {"stop_type", stop_types},
    {"format", formats},
    {"age_group", age_groups},
    {"visit_location", locations},
    {"event_type", event_types},
    {"workforce_role", roles},
    {"finance_direction", directions},
    {"library_type", library_types},
    {"service_point_status", sp_statuses},
    {"weekday", weekdays},
    {NULL, NULL},
};

const struct ss_code_list *ss_code_lists(void)
{
    return code_lists;
}

/* ---- field shorthands ---- */

#define REQ SS_F_REQUIRED
#define KEY (SS_F_REQUIRED | SS_F_KEY)
/* The authority, by name or GSS code, stored as its GSS code. */
#define AUTHORITY(...)                                                                             \
    {                                                                                              \
        "authority", SS_FT_AUTHORITY, KEY, {__VA_ARGS__},                                          \
            "ONS GSS code of the library authority (names in the source are resolved through "     \
            "ref.authority_alias)",                                                                \
            "authority_code", NULL, NULL                                                           \
    }
#define SERVICE_POINT                                                                              \
    {                                                                                              \
        "service_point", SS_FT_TEXT, KEY, {"Library name"},                                        \
            "Service point (library) as the source names it; Outreach for events outside "         \
            "libraries",                                                                           \
            NULL, NULL, NULL                                                                       \
    }
/* The service point of a count that may also be given for the whole
 * authority (a consortium's loans per authority): part of the key, but
 * optional -- no value (the column left unmapped) is the authority's total,
 * never a library of its own. */
#define SERVICE_POINT_OR_AUTHORITY                                                                 \
    {                                                                                              \
        "service_point", SS_FT_TEXT, SS_F_KEY, {"Library name"},                                   \
            "Service point (library) as the source names it; no value = the whole authority "      \
            "(a count the source gives per authority only)",                                       \
            NULL, NULL, NULL                                                                       \
    }
/* The three ways a source states its count period. */
#define PERIOD_FIELDS(...)                                                                         \
    {"period",                                                                                     \
     SS_FT_PERIOD,                                                                                 \
     0,                                                                                            \
     {__VA_ARGS__},                                                                                \
     "Count period: ISO 8601 interval (2023-04-01/P1M) or financial year (2023-24)",               \
     NULL,                                                                                         \
     NULL,                                                                                         \
     NULL},                                                                                        \
        {"period_start",                                                                           \
         SS_FT_PERIOD_START,                                                                       \
         0,                                                                                        \
         {"Count start"},                                                                          \
         "First day of the count",                                                                 \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL},                                                                                    \
    {                                                                                              \
        "period_end", SS_FT_PERIOD_END, 0, {"Count end"}, "Last day of the count, inclusive",      \
            NULL, NULL, NULL                                                                       \
    }
#define CODE(n, flags, list_name, list, header, comment)                                           \
    {                                                                                              \
        n, SS_FT_CODE, flags, {header}, comment, NULL, list, list_name                             \
    }
#define COUNT(n, flags, header, comment)                                                           \
    {                                                                                              \
        n, SS_FT_COUNT, flags, {header}, comment, NULL, NULL, NULL                                 \
    }
#define TEXT(n, flags, header, comment)                                                            \
    {                                                                                              \
        n, SS_FT_TEXT, flags, {header}, comment, NULL, NULL, NULL                                  \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The key of the counts an authority reports for a period. */
#define AUTHORITY_PERIOD AUTHORITY("Authority"), PERIOD_FIELDS("Period")

/* ---- the basic dataset: service points (Libraries schema 0.3.0 and 0.4.0) ---- */

static const struct ss_field service_point_fields[] = {
    AUTHORITY("Local authority"),
    {"name",
     SS_FT_TEXT,
     KEY,
     {"Library name"},
     "Full public name of the library",
     NULL,
     NULL,
     NULL},
    TEXT("address_1", 0, "Address 1", "Address line 1"),
    TEXT("address_2", 0, "Address 2", "Address line 2"),
    TEXT("address_3", 0, "Address 3", "Address line 3"),
    {"postcode",
     SS_FT_POSTCODE,
     KEY,
     {"Postcode"},
     "Postcode of the building, upper case with one space. Part of the identity: a library "
     "that moves is a new service point (the register lists both while the old one is "
     "closing)",
     NULL,
     NULL,
     NULL},
    {"uprn",
     SS_FT_UPRN,
     0,
     {"Unique property reference number", "UPRN"},
     "Unique property reference number of the building unit (schema 0.4.0)",
     NULL,
     NULL,
     NULL},
    {"statutory",
     SS_FT_YESNO,
     SS_F_CLOSURE,
     {"Statutory"},
     "Whether the library is part of the statutory service; NULL when the source does not say "
     "(or says only Temporary Closure: see status)",
     NULL,
     NULL,
     NULL},
    {"library_type",
     SS_FT_LIBTYPE,
     SS_F_CLOSURE,
     {"Type of library"},
     "LAL local authority library, LAL- unstaffed, CL commissioned, CRL community run, ICL "
     "independent community library; NULL when the source does not say (a closure code such "
     "as XL gives the status instead)",
     NULL,
     NULL,
     NULL},
    {"year_opened", SS_FT_YEAR, 0, {"Year opened"}, "Year the library opened", NULL, NULL, NULL},
    {"year_closed",
     SS_FT_YEAR,
     SS_F_KEY | SS_F_CLOSURE,
     {"Year closed"},
     "Year the library closed; a closed library stays in the register. Part of the identity: "
     "a replacement library may share its predecessor's name",
     NULL,
     NULL,
     NULL},
    {"monday_staffed",
     SS_FT_HOURS,
     0,
     {"Monday staffed hours"},
     "Staffed opening hours on Monday",
     NULL,
     NULL,
     NULL},
    {"tuesday_staffed",
     SS_FT_HOURS,
     0,
     {"Tuesday staffed hours"},
     "Staffed opening hours on Tuesday",
     NULL,
     NULL,
     NULL},
    {"wednesday_staffed",
     SS_FT_HOURS,
     0,
     {"Wednesday staffed hours"},
     "Staffed opening hours on Wednesday",
     NULL,
     NULL,
     NULL},
    {"thursday_staffed",
     SS_FT_HOURS,
     0,
     {"Thursday staffed hours"},
     "Staffed opening hours on Thursday",
     NULL,
     NULL,
     NULL},
    {"friday_staffed",
     SS_FT_HOURS,
     0,
     {"Friday staffed hours"},
     "Staffed opening hours on Friday",
     NULL,
     NULL,
     NULL},
    {"saturday_staffed",
     SS_FT_HOURS,
     0,
     {"Saturday staffed hours"},
     "Staffed opening hours on Saturday",
     NULL,
     NULL,
     NULL},
    {"sunday_staffed",
     SS_FT_HOURS,
     0,
     {"Sunday staffed hours"},
     "Staffed opening hours on Sunday",
     NULL,
     NULL,
     NULL},
    {"monday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Monday unstaffed hours"},
     "Unstaffed opening hours on Monday",
     NULL,
     NULL,
     NULL},
    {"tuesday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Tuesday unstaffed hours"},
     "Unstaffed opening hours on Tuesday",
     NULL,
     NULL,
     NULL},
    {"wednesday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Wednesday unstaffed hours"},
     "Unstaffed opening hours on Wednesday",
     NULL,
     NULL,
     NULL},
    {"thursday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Thursday unstaffed hours"},
     "Unstaffed opening hours on Thursday",
     NULL,
     NULL,
     NULL},
    {"friday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Friday unstaffed hours"},
     "Unstaffed opening hours on Friday",
     NULL,
     NULL,
     NULL},
    {"saturday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Saturday unstaffed hours"},
     "Unstaffed opening hours on Saturday",
     NULL,
     NULL,
     NULL},
    {"sunday_unstaffed",
     SS_FT_HOURS,
     0,
     {"Sunday unstaffed hours"},
     "Unstaffed opening hours on Sunday",
     NULL,
     NULL,
     NULL},
    TEXT("special_hours", 0, "Special hours",
         "Changes to normal hours, e.g. 2019-12-25: X,2019-12-27: 10:00-13:00"),
    {"colocated",
     SS_FT_YESNO,
     0,
     {"Co-located"},
     "Whether the library shares its building with another service",
     NULL,
     NULL,
     NULL},
    TEXT("colocated_with", 0, "Co-located with", "What the library shares its building with"),
    TEXT("notes", 0, "Notes", "Notes about the library's status or future changes"),
    TEXT("url", 0, "URL", "Public web page of the library"),
    TEXT("email", 0, "Email address", "Generic e-mail address of the library or service"),
    /* Added after the first wire version: at the end. */
    {"status",
     SS_FT_STATUS,
     SS_F_ADDED,
     {"Status", "Library status"},
     "Open, Closed or Temporarily closed: as the source says, else Closed when a year closed "
     "or a closure code (type XL, XLR; Closed) is given, Temporarily closed for XLT or "
     "Temporary Closure, else Open",
     NULL,
     sp_statuses,
     "service_point_status"},
    {"as_of",
     SS_FT_DATE,
     SS_F_ADDED | SS_F_DATES,
     {"As of", "Data date", "Survey date", "Snapshot date"},
     "Date the source says the record describes (a column of the record); NULL when it gave "
     "none, and valid_from then comes from the collector (its as_of, or the export's "
     "Last-Modified) or the load time",
     NULL,
     NULL,
     NULL},
};

/* ---- mobile library stops (schema 0.3.0) ---- */

static const struct ss_field mobile_stop_fields[] = {
    AUTHORITY("organisation", "Organisation"),
    TEXT("mobile", KEY, "mobile", "Name of the mobile library vehicle"),
    TEXT("route", KEY, "route", "Route name, e.g. Route B"),
    TEXT("community", 0, "community", "Community (village or town) the stop serves"),
    TEXT("stop", KEY, "stop", "Name of the stop"),
    TEXT("address", 0, "address", "Address of the stop"),
    {"postcode", SS_FT_POSTCODE, 0, {"postcode"}, "Nearest postcode to the stop", NULL, NULL, NULL},
    {"longitude", SS_FT_DECIMAL, 0, {"geox"}, "WGS84 longitude of the stop", NULL, NULL, NULL},
    {"latitude", SS_FT_DECIMAL, 0, {"geoy"}, "WGS84 latitude of the stop", NULL, NULL, NULL},
    {"day", SS_FT_WEEKDAY, KEY, {"day"}, "Day of the week of the visit", NULL, NULL, NULL},
    CODE("stop_type", REQ, "stop_type", stop_types, "type",
         "Public, Private (e.g. home visits), Dynamic (request stops) or Other"),
    {"arrival", SS_FT_TIME, KEY, {"arrival"}, "Arrival time", NULL, NULL, NULL},
    {"departure", SS_FT_TIME, REQ, {"departure"}, "Departure time", NULL, NULL, NULL},
    TEXT("frequency", REQ, "frequency",
         "Repeat rule in iCalendar RRULE form, e.g. FREQ=WEEKLY;INTERVAL=4"),
    {"start_date", SS_FT_DATE, KEY, {"start"}, "First visit of this timetable", NULL, NULL, NULL},
    {"end_date",
     SS_FT_DATE,
     0,
     {"end"},
     "Last visit of this timetable, if it ends",
     NULL,
     NULL,
     NULL},
    TEXT("exceptions", 0, "exceptions", "Dates without a visit, comma separated"),
    TEXT("timetable", 0, "timetable", "Web page of the timetable"),
};

/* ---- events (schema 0.3.0; before it "Outcome") ---- */

static const struct ss_field event_fields[] = {
    AUTHORITY("Local authority"),
    SERVICE_POINT,
    {"event_date", SS_FT_DATE, KEY, {"Event date"}, "Date the event was held", NULL, NULL, NULL},
    TEXT("name", KEY, "Name", "Name of the event (outreach events add the place)"),
    {"occurrence",
     SS_FT_OCCURRENCE,
     KEY,
     {NULL},
     "1 for the first event with this library, date and name in the export, 2 for a second "
     "session of the same name that day, ...",
     NULL,
     NULL,
     NULL},
    {"main_outcome",
     SS_FT_CODE,
     REQ,
     {"Main outcome", "Outcome"},
     "Intended outcome, one of the seven Ambition outcomes",
     NULL,
     outcomes,
     "outcome"},
    CODE("secondary_outcome", 0, "outcome", outcomes, "Secondary outcome",
         "Optional secondary outcome"),
    COUNT("attendees", REQ, "Attendees", "Number of people who attended"),
};

/* ---- loans by service point (schema 0.3.0; before it Count start/Count end) ---- */

static const struct ss_field loans_fields[] = {
    AUTHORITY("Local authority"),
    SERVICE_POINT_OR_AUTHORITY,
    {"month",
     SS_FT_MONTH,
     0,
     {"Month"},
     "Month of the count, YYYY-MM (schema 0.3.0)",
     NULL,
     NULL,
     NULL},
    PERIOD_FIELDS("Period"),
    TEXT("item_type", KEY, "Type", "Item type as the library service categorises it"),
    COUNT("loans", REQ, "Loans", "Issues and renewals of that item type in the count period"),
};

/* ---- physical visits (schema 0.3.0) ---- */

static const struct ss_field visit_fields[] = {
    AUTHORITY("Local authority"),
    SERVICE_POINT_OR_AUTHORITY,
    {"month", SS_FT_MONTH, 0, {"Month"}, "Month of the count, YYYY-MM", NULL, NULL, NULL},
    PERIOD_FIELDS("Period"),
    TEXT("count_type", REQ, "Count type",
         "How visits were counted, as the source says (Automatic counter, Manual (one week "
         "every quarter), ...)"),
    COUNT("visits", REQ, "Visits", "People entering the library in the count period"),
};

/* ---- membership by area (schema 0.3.0) ---- */

static const struct ss_field membership_fields[] = {
    AUTHORITY("Local authority"),
    {"count_date", SS_FT_DATE, KEY, {"Count date"}, "Date of the count", NULL, NULL, NULL},
    TEXT("area_code", KEY, "Area code", "ONS area (LSOA) of the members' addresses, or Unknown"),
    {"members",
     SS_FT_SUPPRESSED,
     REQ,
     {"Members"},
     "Active members living in the area; NULL when withheld (see members_suppressed)",
     NULL,
     NULL,
     NULL},
};

/* ---- stock summary (schema 0.3.0) ---- */

static const struct ss_field stock_fields[] = {
    AUTHORITY("Local authority"),
    SERVICE_POINT_OR_AUTHORITY,
    {"count_date", SS_FT_DATE, KEY, {"Count date"}, "Date of the count", NULL, NULL, NULL},
    TEXT("item_type", KEY, "Type", "Item type as the library service categorises it"),
    COUNT("items", REQ, "Items", "Items of that type in stock"),
};

/* ---- the Arts Council England activity collection, long form ---- */

static const struct ss_field activity_loan_fields[] = {
    AUTHORITY("Authority"),
    CODE("format", KEY, "format", formats, "Format",
         "Physical book, Physical audiobook, Ebook or Eaudio"),
    CODE("content_age_group", KEY, "age_group", age_groups, "Content age group",
         "Age group the content is for (Adult, Under 12, 12-17), Unknown when only a total was "
         "given"),
    PERIOD_FIELDS("Period"),
    COUNT("loans", REQ, "Count", "Issues including renewals"),
};

static const struct ss_field activity_visit_fields[] = {
    AUTHORITY("Authority"),
    CODE("location", KEY, "visit_location", locations, "Location",
         "Library, Shared building (co-located), Mobile library or Home delivery"),
    PERIOD_FIELDS("Period"),
    COUNT("visits", REQ, "Count", "Visits, or interactions for mobile and home delivery"),
};

static const struct ss_field active_user_fields[] = {
    AUTHORITY_PERIOD,
    CODE("age_group", KEY, "age_group", age_groups, "Age group",
         "Age group of the users; Unknown when only a total was given"),
    COUNT("users", REQ, "Count", "People who borrowed at least one item in the period"),
};

/* The key of both activity datasets: events and their attendance are
 * counted for the same (authority, event type, age group, period). */
#define ACTIVITY_KEY_FIELDS                                                                        \
    AUTHORITY("Authority"),                                                                        \
        CODE("event_type", KEY, "event_type", event_types, "Event type", "Physical or Digital"),   \
        CODE("age_group", KEY, "age_group", age_groups, "Age group", "Audience age group"),        \
        PERIOD_FIELDS("Period")

static const struct ss_field activity_event_fields[] = {
    ACTIVITY_KEY_FIELDS,
    COUNT("events", REQ, "Count", "Events held"),
};

static const struct ss_field activity_attendance_fields[] = {
    ACTIVITY_KEY_FIELDS,
    COUNT("attendees", REQ, "Count", "People who attended events"),
};

static const struct ss_field computer_hour_fields[] = {
    AUTHORITY_PERIOD,
    COUNT("hours", REQ, "Count", "Hours of use of public computers and devices in libraries"),
};

static const struct ss_field wifi_fields[] = {
    AUTHORITY_PERIOD,
    COUNT("sessions", REQ, "Count", "Wi-Fi sessions in library buildings"),
};

static const struct ss_field click_collect_fields[] = {
    AUTHORITY_PERIOD,
    COUNT("interactions", REQ, "Count", "Click and collect interactions"),
};

/* ---- defined by shelfsync: no open schema exists yet ---- */

static const struct ss_field workforce_fields[] = {
    AUTHORITY("Authority", "Local authority"),
    PERIOD_FIELDS("Period"),
    CODE("role", KEY, "workforce_role", roles, "Role", "Staff (paid) or Volunteer"),
    COUNT("headcount", REQ, "Headcount", "People"),
    {"fte", SS_FT_DECIMAL, 0, {"FTE"}, "Full-time equivalents (staff)", NULL, NULL, NULL},
    {"hours", SS_FT_DECIMAL, 0, {"Hours"}, "Hours worked in the period", NULL, NULL, NULL},
};

static const struct ss_field finance_fields[] = {
    AUTHORITY("Authority", "Local authority"),
    PERIOD_FIELDS("Financial year"),
    CODE("direction", KEY, "finance_direction", directions, "Direction", "Income or Expenditure"),
    TEXT("heading", KEY, "Heading",
         "Budget heading, e.g. Employees, Premises, Materials, Fees and charges"),
    {"amount", SS_FT_DECIMAL, REQ, {"Amount"}, "Amount in pounds sterling", NULL, NULL, NULL},
};

static const struct ss_field loan_transaction_fields[] = {
    AUTHORITY("Authority", "Local authority"),
    TEXT("transaction_id", KEY, "Transaction id", "The library system's id of the issue"),
    TEXT("service_point", REQ, "Library name", "Service point the item was issued at"),
    {"issued_at",
     SS_FT_TIMESTAMP,
     REQ,
     {"Issued at"},
     "When the item was issued (UTC)",
     NULL,
     NULL,
     NULL},
    TEXT("item_type", REQ, "Type", "Item type as the library service categorises it"),
    {"patron_key",
     SS_FT_PSEUDONYM,
     0,
     {"Patron key"},
     "Pseudonymous patron key: HMAC-SHA256 under the library service's own key, never the "
     "patron's identity",
     NULL,
     NULL,
     NULL},
    {"renewal", SS_FT_YESNO, 0, {"Renewal"}, "Whether the issue was a renewal", NULL, NULL, NULL},
};

#define DATASET(n, t, c, f, fl, l, id)                                                             \
    {                                                                                              \
        n, t, c, f, N(f), fl, l, id                                                                \
    }

static const struct ss_dataset datasets[] = {
    DATASET("service_points", "core.service_points",
            "The basic dataset: library service points with address, type, status and opening "
            "hours, with history (one row per version)",
            service_point_fields, 0, SS_LOAD_HISTORY, "service_point_id"),
    DATASET("mobile_stops", "core.mobile_stops", "Mobile library stops and their timetables",
            mobile_stop_fields, 0, SS_LOAD_UPSERT, NULL),
    DATASET("events", "core.events", "Library events, one row per event", event_fields, 0,
            SS_LOAD_UPSERT, NULL),
    DATASET("loans", "core.loans",
            "Loans (issues and renewals) by service point, count period and item type",
            loans_fields, SS_DS_PERIOD | SS_DS_PARTITIONED, SS_LOAD_UPSERT, NULL),
    DATASET("visits", "core.visits",
            "Physical visits by service point and count period; a count over less than a whole "
            "month is a sample",
            visit_fields, SS_DS_PERIOD | SS_DS_PARTITIONED, SS_LOAD_UPSERT, NULL),
    DATASET("membership", "core.membership",
            "Active members by area of residence at a count date; small counts withheld",
            membership_fields, 0, SS_LOAD_UPSERT, NULL),
    DATASET("stock", "core.stock", "Items in stock by service point and item type at a count date",
            stock_fields, 0, SS_LOAD_UPSERT, NULL),
    DATASET("activity_loans", "core.activity_loans",
            "Loans by authority, format and content age group (Arts Council activity data)",
            activity_loan_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("activity_visits", "core.activity_visits",
            "Visits by authority and kind of location (Arts Council activity data)",
            activity_visit_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("active_users", "core.active_users",
            "Active users (borrowed at least one item) by authority and age group",
            active_user_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("activity_events", "core.activity_events",
            "Events by authority, type and audience age group", activity_event_fields, SS_DS_PERIOD,
            SS_LOAD_UPSERT, NULL),
    DATASET("activity_event_attendance", "core.activity_event_attendance",
            "Event attendance by authority, type and audience age group",
            activity_attendance_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("computer_hours", "core.computer_hours", "Hours of public computer use by authority",
            computer_hour_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("wifi_sessions", "core.wifi_sessions", "Wi-Fi sessions in libraries by authority",
            wifi_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("click_and_collect", "core.click_and_collect",
            "Click and collect interactions by authority", click_collect_fields, SS_DS_PERIOD,
            SS_LOAD_UPSERT, NULL),
    DATASET("workforce", "core.workforce",
            "Staff and volunteers: headcount, full-time equivalents and hours", workforce_fields,
            SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("finance", "core.finance", "Income and expenditure by heading and financial year",
            finance_fields, SS_DS_PERIOD, SS_LOAD_UPSERT, NULL),
    DATASET("loan_transactions", "core.loan_transactions",
            "Individual issues from library systems, with a pseudonymous patron key only",
            loan_transaction_fields, 0, SS_LOAD_UPSERT, NULL),
};

static const struct ss_dataset *const all_datasets[] = {
    &datasets[0],  &datasets[1],  &datasets[2],  &datasets[3],  &datasets[4],
    &datasets[5],  &datasets[6],  &datasets[7],  &datasets[8],  &datasets[9],
    &datasets[10], &datasets[11], &datasets[12], &datasets[13], &datasets[14],
    &datasets[15], &datasets[16], &datasets[17], NULL,
};

const struct ss_dataset *const *ss_dataset_all(void)
{
    return all_datasets;
}

const struct ss_dataset *ss_dataset_find(const char *name)
{
    for (size_t i = 0; all_datasets[i]; i++)
        if (strcmp(all_datasets[i]->name, name) == 0)
            return all_datasets[i];
    return NULL;
}

int ss_dataset_field_index(const struct ss_dataset *ds, const char *name)
{
    for (size_t i = 0; i < ds->nfields; i++)
        if (strcmp(ds->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t ss_dataset_min_fields(const struct ss_dataset *ds)
{
    size_t n = ds->nfields;
    while (n > 0 && (ds->fields[n - 1].flags & SS_F_ADDED))
        n--;
    return n;
}

int ss_dataset_has_occurrence(const struct ss_dataset *ds)
{
    for (size_t i = 0; i < ds->nfields; i++)
        if (ds->fields[i].type == SS_FT_OCCURRENCE)
            return 1;
    return 0;
}

int ss_ftype_is_period(enum ss_ftype t)
{
    return t == SS_FT_MONTH || t == SS_FT_PERIOD || t == SS_FT_PERIOD_START ||
           t == SS_FT_PERIOD_END;
}

const char *ss_ftype_name(enum ss_ftype t)
{
    static const char *const names[] = {
        [SS_FT_TEXT] = "text",
        [SS_FT_COUNT] = "count",
        [SS_FT_DATE] = "date",
        [SS_FT_MONTH] = "month",
        [SS_FT_PERIOD] = "period",
        [SS_FT_PERIOD_START] = "period start",
        [SS_FT_PERIOD_END] = "period end",
        [SS_FT_AUTHORITY] = "authority",
        [SS_FT_POSTCODE] = "postcode",
        [SS_FT_UPRN] = "UPRN",
        [SS_FT_YESNO] = "yes/no",
        [SS_FT_LIBTYPE] = "library type",
        [SS_FT_YEAR] = "year",
        [SS_FT_TIME] = "time",
        [SS_FT_DECIMAL] = "decimal",
        [SS_FT_SUPPRESSED] = "count or x",
        [SS_FT_HOURS] = "opening hours",
        [SS_FT_WEEKDAY] = "weekday",
        [SS_FT_CODE] = "code",
        [SS_FT_TIMESTAMP] = "timestamp",
        [SS_FT_PSEUDONYM] = "pseudonym",
        [SS_FT_OCCURRENCE] = "occurrence",
        [SS_FT_STATUS] = "service point status",
    };
    return (unsigned)t < N(names) && names[t] ? names[t] : "?";
}

static const char *ftype_sql(enum ss_ftype t)
{
    switch (t) {
    case SS_FT_COUNT:
    case SS_FT_UPRN:
    case SS_FT_OCCURRENCE:
    case SS_FT_SUPPRESSED:
        return "bigint";
    case SS_FT_DATE:
        return "date";
    case SS_FT_YESNO:
        return "boolean";
    case SS_FT_YEAR:
        return "integer";
    case SS_FT_TIME:
        return "time";
    case SS_FT_DECIMAL:
        return "numeric";
    case SS_FT_TIMESTAMP:
        return "timestamptz";
    default:
        return "text";
    }
}

static void add(struct ss_column *cols, size_t *n, const char *name, const char *suffix,
                const char *sqltype, int key, int field, int part, const char *comment)
{
    struct ss_column *c = &cols[(*n)++];
    snprintf(c->name, sizeof(c->name), "%s%s", name, suffix);
    c->sqltype = sqltype;
    c->key = key;
    c->field = field;
    c->part = part;
    c->comment = comment;
}

size_t ss_dataset_columns(const struct ss_dataset *ds, struct ss_column *cols)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->nfields && n < SS_DATASET_MAX_COLUMNS - 3; i++) {
        const struct ss_field *f = &ds->fields[i];
        const char *name = f->column ? f->column : f->name;
        int key = (f->flags & SS_F_KEY) != 0;
        if (ss_ftype_is_period(f->type))
            continue;
        add(cols, &n, name, "", ftype_sql(f->type), key, (int)i, 0, f->comment);
        if (f->type == SS_FT_SUPPRESSED)
            add(cols, &n, name, "_suppressed", "boolean", 0, (int)i, 1,
                "True when the count was withheld for privacy (between 1 and 4); the count "
                "is then NULL, never 0");
        else if (f->type == SS_FT_HOURS)
            add(cols, &n, name, "_minutes", "integer", 0, (int)i, 1,
                "Minutes open in that day's hours; NULL when the source gave none");
    }
    if (ds->flags & SS_DS_PERIOD) {
        add(cols, &n, "period_start", "", "date", 1, -1, 0, "First day of the count period");
        add(cols, &n, "period_end", "", "date", 1, -1, 0,
            "Last day of the count period, inclusive");
    }
    return n;
}
