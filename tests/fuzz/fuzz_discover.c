/* libFuzzer target for ss_discover: the detection run on bytes as they come
 * from the network (the head of an export).
 *
 * The first byte chooses the --dataset (none, or one of the datasets) and
 * whether the head is cut short. Besides what the sanitizers catch, it
 * checks the contract: a success has columns, each mapped to a field of the
 * dataset or not, a failure a message; the proposal is valid JSON with the
 * members a collector config needs; the summary writes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ss_dataset.h"
#include "ss_discover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct ss_dataset *const *all = ss_dataset_all();
    size_t nds = 0;
    while (all[nds])
        nds++;
    size_t pick = (data[0] >> 1) % (nds + 1);
    const char *dataset = pick ? all[pick - 1]->name : NULL;
    int truncated = data[0] & 1;
    struct ss_discover d;
    char err[2048] = "";
    int rc = ss_discover_analyse((const char *)data + 1, size - 1, truncated, NULL,
                                 "http://fuzz.example/export.csv", dataset, &d, err, sizeof err);
    if (rc < 0) {
        if (!err[0])
            abort();
        return 0;
    }
    if (d.ncols == 0 || !d.ds)
        abort();
    for (size_t c = 0; c < d.ncols; c++)
        if (d.field[c] >= (int)d.ds->nfields || !d.cols[c])
            abort();
    char *json = ss_discover_config_json(&d, "http://fuzz.example/export.csv");
    if (!json)
        abort();
    json_t *root = json_loads(json, 0, NULL);
    if (!root || !json_is_string(json_object_get(root, "source")) ||
        !json_is_string(json_object_get(root, "state_dir")) ||
        !json_is_object(json_object_get(root, "daemon")) ||
        !json_is_object(json_object_get(root, "mapping")))
        abort();
    json_decref(root);
    free(json);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        ss_discover_summary(&d, "http://fuzz.example/export.csv", null);
        fclose(null);
    }
    ss_discover_free(&d);
    return 0;
}
