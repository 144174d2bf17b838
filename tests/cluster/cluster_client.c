/* cluster_client: test_cluster.sh's way into node alpha, through its gate,
 * with libsky-client and the client stubs of cluster_test.proto.
 *
 *   cluster_client PORT step TEXT [N]  calls skycluster.Ctl.Step {text,
 *                                      n} (driver.lua on alpha) and prints
 *                                      its answer's text ("ok ..." or
 *                                      "FAIL ...")
 *   cluster_client PORT remote         calls skycluster.Remote.Where,
 *                                      whose default_name is
 *                                      "remote@beta": alpha's gate passes
 *                                      it to node beta; prints the answer
 *
 * Exit status 0 when the call was answered (for remote: by node beta,
 * with the text sent); 1 otherwise, with the error on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster_test.sky-client.h"

#define STEP_TIMEOUT_MS 40000

static int failed(sky_client *c, const char *what, int rc)
{
    printf("FAIL %s: %s: %s\n", what, sky_errname(rc), sky_client_error(c));
    return 1;
}

static int step(sky_client *c, const char *text, long long n)
{
    Skycluster__Hop req = SKYCLUSTER__HOP__INIT, *resp;
    req.text = (char *)text;
    req.n = n;
    int rc = skycluster_Ctl_Step_client_call(c, &req, &resp, STEP_TIMEOUT_MS);
    if (rc != 0) return failed(c, "Ctl.Step", rc);
    printf("%s\n", resp->text);
    skycluster__hop__free_unpacked(resp, NULL);
    return 0;
}

static int remote(sky_client *c)
{
    Skycluster__Hop req = SKYCLUSTER__HOP__INIT, *resp;
    req.text = "from outside";
    int rc = skycluster_Remote_Where_client_call(c, &req, &resp, 5000);
    if (rc != 0) return failed(c, "Remote.Where through the gate", rc);
    int ok = strcmp(resp->node, "beta") == 0 && strcmp(resp->text, "from outside") == 0;
    printf("%s Remote.Where answered by node '%s': \"%s\"\n", ok ? "ok" : "FAIL", resp->node, resp->text);
    skycluster__hop__free_unpacked(resp, NULL);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[2], "step") == 0 && argc < 4)) {
        fprintf(stderr, "usage: cluster_client PORT step TEXT [N] | PORT remote\n");
        return 2;
    }
    sky_client *c = sky_client_new("127.0.0.1", atoi(argv[1]));
    if (!c) return 1;
    int rc = sky_client_connect(c, 5000), status;
    if (rc != 0)
        status = failed(c, "connect to the gate", rc);
    else if (strcmp(argv[2], "remote") == 0)
        status = remote(c);
    else
        status = step(c, argv[3], argc > 4 ? atoll(argv[4]) : 0);
    sky_client_free(c);
    return status;
}
