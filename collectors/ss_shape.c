/* ss_shape: see ss_shape.h. */
#include "ss_shape.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ss_buf.h"
#include "ss_date.h"
#include "ss_err.h"
#include "ss_postcode.h"
#include "ss_secret.h"

enum transform { T_NONE, T_AGE_BAND, T_POSTCODE_DISTRICT, T_POSTCODE_LSOA, T_UPPER, T_LOWER };

/* One postcode of the LSOA lookup: postcode without spaces, upper case. */
struct lsoa_entry {
    char postcode[8];
    char lsoa[10];
};

/* Enough for any library service's area, and a bound on memory (27 MiB). */
#define SS_LSOA_MAX 1500000

struct field_shape {
    const struct ss_config_pair *map; /* sorted copy of the value map, by key: for a loose map,
                                         by loose key (ss_config_valmap_key) */
    size_t nmap;
    int loose;
    int transform_first; /* transform_value before map_value */
    enum transform transform;
    int pseudonym;
};

struct ss_shape {
    const struct ss_dataset *ds;
    struct field_shape *fields;
    struct ss_config_pair *sorted; /* storage for the sorted maps */
    char *loose_keys;              /* storage for the loose maps' keys */
    char *fold;                    /* a value's loose key, for the lookup */
    size_t foldcap;                /* the longest loose key: a longer value matches none */
    unsigned char *key;            /* HMAC key, or NULL: pseudonyms are dropped */
    size_t keylen;
    struct ss_buf out;       /* values this shaper produced for the current record */
    struct lsoa_entry *lsoa; /* sorted by postcode, or NULL */
    size_t nlsoa;
    struct ss_date today;
    /* Per field, for the current record: where in out a value this shaper
     * made starts (offsets: out may move while it grows), and whether it
     * made one. ds->nfields entries each. */
    size_t *starts;
    unsigned char *mine;
};

/* What the shaper may hold for one record's values; past it the record is
 * refused, never cut. */
#define SS_SHAPE_OUT_MAX ((size_t)4 << 20)

static int cmp_lsoa(const void *a, const void *b)
{
    return strcmp(((const struct lsoa_entry *)a)->postcode,
                  ((const struct lsoa_entry *)b)->postcode);
}

/* A postcode's compact form by ss_postcode's lax rule (upper case without
 * spaces or quotes): its length, or 0 if it cannot be a postcode. */
static size_t squeeze_postcode(const char *v, size_t len, char *out, size_t outlen)
{
    const char *why;
    if (outlen <= SS_POSTCODE_MAX)
        return 0;
    int n = ss_postcode_compact(v, len, 0, out, &why);
    return n < 0 ? 0 : (size_t)n;
}

/* Reads "postcode,lsoa" lines (a header line, quotes and extra columns are
 * allowed; the LSOA is the second column). 0, or -errno (cannot open),
 * SS_E2BIG (past SS_LSOA_MAX), SS_ENOMEM, SS_EINVAL (no such line), with
 * the message in err. */
static int load_lsoa(struct ss_shape *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t cap = 0, lineno = 0;
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open the LSOA lookup: %m", path);
        return -e;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *comma = strchr(line, ',');
        if (!comma)
            continue;
        char *second = comma + 1, *end = strpbrk(second, ",\r\n");
        if (end)
            *end = '\0';
        while (*second == '"' || *second == ' ')
            second++;
        size_t l = strlen(second);
        while (l && (second[l - 1] == '"' || second[l - 1] == ' '))
            second[--l] = '\0';
        struct lsoa_entry e;
        if (l != 9 ||
            !squeeze_postcode(line, (size_t)(comma - line), e.postcode, sizeof(e.postcode)))
            continue; /* a header, or not a postcode and an area code */
        memcpy(e.lsoa, second, 10);
        if (s->nlsoa == cap) {
            if (cap >= SS_LSOA_MAX) {
                snprintf(err, errlen, "%s: more than %d postcodes: use an extract for your area",
                         path, SS_LSOA_MAX);
                fclose(f);
                return SS_E2BIG;
            }
            cap = cap ? cap * 2 : 4096;
            struct lsoa_entry *p = realloc(s->lsoa, cap * sizeof(*p));
            if (!p) {
                snprintf(err, errlen, "out of memory");
                fclose(f);
                return SS_ENOMEM;
            }
            s->lsoa = p;
        }
        s->lsoa[s->nlsoa++] = e;
    }
    fclose(f);
    if (s->nlsoa == 0) {
        snprintf(err, errlen, "%s: no \"postcode,lsoa\" lines (%zu lines read)", path, lineno);
        return SS_EINVAL;
    }
    qsort(s->lsoa, s->nlsoa, sizeof(*s->lsoa), cmp_lsoa);
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(((const struct ss_config_pair *)a)->key, ((const struct ss_config_pair *)b)->key);
}

/* A value (not NUL-terminated) against a map's key, in strcmp's order. */
struct probe {
    const char *s;
    size_t len;
};

static int cmp_probe(const void *a, const void *b)
{
    const struct probe *p = a;
    const char *key = ((const struct ss_config_pair *)b)->key;
    size_t klen = strlen(key);
    int c = memcmp(p->s, key, p->len < klen ? p->len : klen);
    return c ? c : (p->len > klen) - (p->len < klen);
}

void ss_hmac_sha256_hex(const unsigned char *key, size_t keylen, const char *data, size_t len,
                        char out[65])
{
    unsigned char mac[32];
    size_t maclen = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, (const unsigned char *)data,
                   len, mac, sizeof(mac), &maclen) ||
        maclen != 32) {
        /* Never fall back to the clear value. */
        memset(out, '0', 64);
        out[64] = '\0';
        return;
    }
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

struct ss_shape *ss_shape_new(const struct ss_collector_config *cfg, const struct ss_dataset *ds,
                              char *err, size_t errlen)
{
    struct ss_shape *s = calloc(1, sizeof(*s));
    size_t total = 0;
    if (!s)
        goto nomem;
    s->ds = ds;
    s->fields = calloc(ds->nfields, sizeof(*s->fields));
    s->starts = calloc(ds->nfields + 1, sizeof(*s->starts));
    s->mine = calloc(ds->nfields + 1, sizeof(*s->mine));
    size_t keybytes = 0;
    for (size_t i = 0; i < cfg->nvalue_maps; i++) {
        const struct ss_config_valmap *vm = &cfg->value_maps[i];
        total += vm->npairs;
        for (size_t j = 0; ss_config_valmap_loose(vm) && j < vm->npairs; j++)
            keybytes += strlen(vm->pairs[j].key) + 1;
    }
    s->sorted = calloc(total + 1, sizeof(*s->sorted));
    s->loose_keys = malloc(keybytes + 1);
    if (!s->fields || !s->sorted || !s->loose_keys || !s->starts || !s->mine)
        goto nomem;
    ss_buf_init(&s->out, SS_SHAPE_OUT_MAX);

    size_t used = 0, kused = 0;
    for (size_t i = 0; i < cfg->nvalue_maps; i++) {
        const struct ss_config_valmap *vm = &cfg->value_maps[i];
        int f = ss_dataset_field_index(ds, vm->field);
        if (f < 0) {
            snprintf(err, errlen, "\"value_maps.%s\": dataset \"%s\" has no such field", vm->field,
                     ds->name);
            goto fail;
        }
        struct ss_config_pair *map = s->sorted + used;
        memcpy(map, vm->pairs, vm->npairs * sizeof(*vm->pairs));
        /* A loose map is looked up by loose key; the loader made sure no two
         * of its keys are one. */
        for (size_t j = 0; ss_config_valmap_loose(vm) && j < vm->npairs; j++) {
            size_t klen = strlen(map[j].key);
            char *key = s->loose_keys + kused;
            size_t n = ss_config_valmap_key(map[j].key, klen, key, klen);
            key[n] = '\0';
            map[j].key = key;
            kused += n + 1;
            if (n > s->foldcap)
                s->foldcap = n;
        }
        qsort(map, vm->npairs, sizeof(*map), cmp_pair);
        s->fields[f].map = map;
        s->fields[f].nmap = vm->npairs;
        s->fields[f].loose = ss_config_valmap_loose(vm);
        s->fields[f].transform_first = vm->transform_first;
        used += vm->npairs;
    }
    s->fold = malloc(s->foldcap + 1);
    if (!s->fold)
        goto nomem;
    for (size_t i = 0; i < cfg->ntransforms; i++) {
        int f = ss_dataset_field_index(ds, cfg->transforms[i].key);
        const char *t = cfg->transforms[i].value;
        if (f < 0) {
            snprintf(err, errlen, "\"transforms.%s\": dataset \"%s\" has no such field",
                     cfg->transforms[i].key, ds->name);
            goto fail;
        }
        s->fields[f].transform = strcmp(t, "age_band") == 0            ? T_AGE_BAND
                                 : strcmp(t, "postcode_district") == 0 ? T_POSTCODE_DISTRICT
                                 : strcmp(t, "postcode_lsoa") == 0     ? T_POSTCODE_LSOA
                                 : strcmp(t, "upper") == 0             ? T_UPPER
                                 : strcmp(t, "lower") == 0             ? T_LOWER
                                                                       : T_NONE;
    }
    for (size_t f = 0; f < ds->nfields; f++)
        s->fields[f].pseudonym = ds->fields[f].type == SS_FT_PSEUDONYM;
    if (cfg->lsoa_lookup_file && load_lsoa(s, cfg->lsoa_lookup_file, err, errlen) < 0)
        goto fail;
    if (cfg->hmac_key_file) {
        char *k = ss_secret_read(cfg->hmac_key_file, err, errlen);
        if (!k)
            goto fail;
        s->keylen = strlen(k);
        s->key = (unsigned char *)k;
        if (s->keylen < 16) {
            snprintf(err, errlen, "%s: the HMAC key is shorter than 16 characters",
                     cfg->hmac_key_file);
            goto fail;
        }
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    s->today.y = tm.tm_year + 1900;
    s->today.m = tm.tm_mon + 1;
    s->today.d = tm.tm_mday;
    return s;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    ss_shape_free(s);
    return NULL;
}

void ss_shape_free(struct ss_shape *s)
{
    if (!s)
        return;
    if (s->key)
        ss_secret_free((char *)s->key);
    ss_buf_free(&s->out);
    free(s->lsoa);
    free(s->sorted);
    free(s->loose_keys);
    free(s->fold);
    free(s->fields);
    free(s->starts);
    free(s->mine);
    free(s);
}

/* Age on the run's date -> the Arts Council's age groups. A date of birth
 * is a date as ss_parse_date reads it; an ISO one may carry a time. */
static const char *age_band(const struct ss_shape *s, const char *v, size_t len)
{
    struct ss_date dob;
    const char *why;
    if (len > 10 && v[4] == '-')
        len = 10; /* 2001-02-03T00:00:00 */
    if (ss_parse_date(v, len, &dob, &why) < 0)
        return NULL;
    const struct ss_date *t = &s->today;
    int age = t->y - dob.y - (t->m < dob.m || (t->m == dob.m && t->d < dob.d));
    if (age < 0)
        return NULL;
    return age < 12 ? "Under 12" : age < 18 ? "12-17" : "Adult";
}

/* Field f's value as the steps so far left it: one this shaper made (in
 * out), the record's, or one from a value map; NULL when a step left none. */
static const char *current(const struct ss_shape *s, size_t f, const char **vals)
{
    return s->mine[f] ? s->out.data + s->starts[f] : vals[f];
}

/* Field f's value becomes its value map's value for it, if it has one; a
 * value with no entry passes unchanged. */
static void map_value(struct ss_shape *s, size_t f, const char **vals, size_t *lens)
{
    const struct field_shape *fs = &s->fields[f];
    struct probe probe = {current(s, f, vals), lens[f]};
    if (!fs->nmap || !probe.s)
        return;
    if (fs->loose) {
        probe.len = ss_config_valmap_key(probe.s, probe.len, s->fold, s->foldcap);
        if (probe.len > s->foldcap)
            return; /* longer than every key */
        probe.s = s->fold;
    }
    const struct ss_config_pair *hit =
        bsearch(&probe, fs->map, fs->nmap, sizeof(*fs->map), cmp_probe);
    if (!hit)
        return;
    vals[f] = hit->value;
    lens[f] = strlen(hit->value);
    s->mine[f] = 0;
}

/* Field f's value through its transform. 0; SS_EINVAL with the reason in
 * why (a date of birth that is not a date); or ss_buf's code (past the
 * shaper's bound). */
static int transform_value(struct ss_shape *s, size_t f, const char **vals, size_t *lens, char *why,
                           size_t whylen)
{
    const struct field_shape *fs = &s->fields[f];
    const char *v = current(s, f, vals);
    size_t len = lens[f];
    int rc = 0;
    if (!v || fs->transform == T_NONE)
        return 0;
    if (fs->transform == T_AGE_BAND) {
        const char *band = age_band(s, v, len);
        if (!band) {
            snprintf(why, whylen, "\"%s\": date of birth is not a date (YYYY-MM-DD)",
                     s->ds->fields[f].name);
            return SS_EINVAL;
        }
        vals[f] = band;
        lens[f] = strlen(band);
        s->mine[f] = 0;
    } else if (fs->transform == T_POSTCODE_DISTRICT) {
        char pc[SS_POSTCODE_MAX + 1];
        size_t n = squeeze_postcode(v, len, pc, sizeof(pc));
        /* Not a postcode: nothing of it may leave. */
        vals[f] = NULL;
        lens[f] = 0;
        s->mine[f] = 0;
        if (!n)
            return 0;
        s->starts[f] = s->out.len;
        rc = ss_buf_add(&s->out, pc, n - 3);
        lens[f] = n - 3;
        s->mine[f] = 1;
    } else if (fs->transform == T_POSTCODE_LSOA) {
        struct lsoa_entry probe;
        const struct lsoa_entry *hit = NULL;
        if (s->lsoa && squeeze_postcode(v, len, probe.postcode, sizeof(probe.postcode)))
            hit = bsearch(&probe, s->lsoa, s->nlsoa, sizeof(*s->lsoa), cmp_lsoa);
        /* Unknown to the lookup: nothing of the postcode leaves. */
        vals[f] = hit ? hit->lsoa : NULL;
        lens[f] = hit ? 9 : 0;
        s->mine[f] = 0;
    } else { /* T_UPPER, T_LOWER; v is not in out: a field has one transform */
        size_t start = s->out.len;
        for (size_t i = 0; i < len && rc == 0; i++) {
            char c = v[i];
            if (fs->transform == T_UPPER && c >= 'a' && c <= 'z')
                c = (char)(c - 32);
            if (fs->transform == T_LOWER && c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            rc = ss_buf_addc(&s->out, c);
        }
        s->starts[f] = start;
        s->mine[f] = 1;
    }
    return rc;
}

/* Field f's value (made by this shaper, or the record's) becomes its HMAC,
 * or absent when there is no key: never sent in clear. */
static int pseudonymise(struct ss_shape *s, size_t f, const char **vals, size_t *lens)
{
    char hex[65];
    if (!s->key) {
        vals[f] = NULL;
        lens[f] = 0;
        s->mine[f] = 0;
        return 0;
    }
    const char *src = s->mine[f] ? s->out.data + s->starts[f] : vals[f];
    ss_hmac_sha256_hex(s->key, s->keylen, src, lens[f], hex);
    s->starts[f] = s->out.len;
    lens[f] = 64;
    s->mine[f] = 1;
    return ss_buf_add(&s->out, hex, 64);
}

int ss_shape_apply(struct ss_shape *s, const char **vals, size_t *lens, char *why, size_t whylen)
{
    int rc = 0;
    ss_buf_reset(&s->out);
    memset(s->mine, 0, s->ds->nfields * sizeof(*s->mine));
    for (size_t f = 0; f < s->ds->nfields && rc == 0; f++) {
        const struct field_shape *fs = &s->fields[f];
        const char *v = vals[f];
        size_t len = lens[f];
        if (!v)
            continue;
        /* An empty cell is no value: nothing to map, and never a pseudonym of "". */
        size_t k = 0;
        while (k < len && (v[k] == ' ' || v[k] == '\t'))
            k++;
        if (k == len) {
            if (fs->pseudonym) {
                vals[f] = NULL;
                lens[f] = 0;
            }
            continue;
        }
        /* The order per field: map_value, transform_value (or the other way
         * round when the map asks for transform_first), then privacy. */
        if (fs->transform_first) {
            rc = transform_value(s, f, vals, lens, why, whylen);
            if (rc == 0)
                map_value(s, f, vals, lens);
        } else {
            map_value(s, f, vals, lens);
            rc = transform_value(s, f, vals, lens, why, whylen);
        }
        if (rc == SS_EINVAL)
            return rc; /* why names the field */
        if (rc == 0 && fs->pseudonym && current(s, f, vals))
            rc = pseudonymise(s, f, vals, lens);
    }
    if (rc < 0) {
        snprintf(why, whylen, "the record's shaped values exceed %zu MiB%s", SS_SHAPE_OUT_MAX >> 20,
                 rc == SS_ENOMEM ? " (out of memory)" : "");
        return rc;
    }
    for (size_t f = 0; f < s->ds->nfields; f++)
        if (s->mine[f])
            vals[f] = s->out.data + s->starts[f];
    return 0;
}
